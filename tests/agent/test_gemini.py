"""The Gemini path against a local fake speaking the real wire protocol: tool round trip with streamed
tokens, and 429 / 500 / timeout each ending in a grounded fallback answer within bounded time."""

from __future__ import annotations

import json

import pytest
from langchain_google_genai import ChatGoogleGenerativeAI

from agent.graph import Limits, build_graph
from tests.agent.conftest import Chat
from tests.agent.fake_gemini import Step, running_fake

OPEN_QUESTION = "Tell me a story about my privacy journey so far, in the style of a sea shanty"


@pytest.fixture
def fake():
    with running_fake() as f:
        yield f


@pytest.fixture
def gemini_chat(db, memory, embedder, world, fake) -> Chat:
    model = ChatGoogleGenerativeAI(model="gemini-2.5-flash", base_url=fake.url, api_key="test", max_retries=0,
                                   timeout=5)
    checkpointer, store = memory
    graph = build_graph(db=db, checkpointer=checkpointer, store=store, model=model, embedder=embedder,
                        limits=Limits(llm_seconds=1.5))
    return Chat(graph, db, world["alice"])


def _function_responses(fake) -> list[dict]:
    return [p["functionResponse"] for r in fake.requests for c in r["body"]["contents"] for p in c["parts"]
            if "functionResponse" in p]


async def test_tool_round_trip_streams_tokens_and_reads_only_the_context_user(gemini_chat, fake, world):
    fake.script = [Step(call=("what_changed", {"user_id": str(world["bob"])})),
                   Step(text="You switched Location History off on Acme Social, which made you less exposed.")]
    turn = await gemini_chat(OPEN_QUESTION)
    assert turn.route == "llm" and turn.llm_calls == 2 and turn.fallback is None
    assert [c["name"] for c in turn.tool_calls] == ["what_changed"]
    assert all("streamGenerateContent" in r["path"] for r in fake.requests)
    token_chunks = [e for e in turn.events if e.get("event") == "tool_end"]
    assert token_chunks and turn.first_token_s is not None
    assert "Location History off" in turn.text
    [response] = _function_responses(fake)
    result = json.loads(response["response"]["output"]) if "output" in response["response"] else response["response"]
    # Alice's change came back, although the model asked for Bob (who has none of his own).
    assert [c["setting_key"] for c in result["changes"]] == ["location_history"]
    tools_declared = fake.requests[0]["body"]["tools"][0]["functionDeclarations"]
    assert all("user_id" not in json.dumps(d.get("parameters", {})) for d in tools_declared)


@pytest.mark.parametrize(("step", "reason"), [
    (Step(status=429), "rate limited"),
    (Step(status=500), "server error"),
    (Step(delay=4.0, text="too late"), "did not answer in time"),
])
async def test_llm_failures_end_in_a_grounded_fallback(gemini_chat, fake, step, reason):
    fake.script = [step]
    turn = await gemini_chat(OPEN_QUESTION)
    assert turn.total_s < 4.0
    assert turn.error is None and turn.fallback is not None and reason in turn.fallback
    assert turn.text.startswith("I couldn't reach the AI model just now")
    # grounded: the stored change and the stored score, not a guess
    assert "Location History: on → off — changed by you" in turn.text
    assert "overall privacy score is 45/100" in turn.text
    assert "Traceback" not in turn.text


async def test_common_intents_take_the_fast_path_even_with_a_key(gemini_chat, fake):
    for question in ("what changed?", "what's my score?", "explain Personalized ads", "how do I fix this?"):
        turn = await gemini_chat(question)
        assert turn.route == "fast" and turn.llm_calls == 0, question
    assert fake.requests == []


async def test_a_citation_not_retrieved_in_the_turn_is_removed(gemini_chat, fake):
    fake.script = [Step(text="Acme sells your data to brokers [P999].")]
    turn = await gemini_chat(OPEN_QUESTION)
    assert "[P999]" not in turn.text and "removed a citation" in turn.text
    assert turn.citations == []


async def test_an_invented_setting_name_is_cut_and_a_real_one_kept(gemini_chat, fake):
    fake.script = [Step(text='Turn off "Location History" on Acme Social. '
                             'Also disable "Shadow Profile Sharing" in the Research menu. That is all.')]
    turn = await gemini_chat(OPEN_QUESTION)
    assert '"Location History"' in turn.text
    assert "Shadow Profile Sharing" not in turn.text
    assert "removed advice about a setting" in turn.text


def test_quoted_values_options_and_near_labels_are_not_taken_for_settings():
    from agent.setting_names import unknown_setting_names
    from memory.structure import Structure
    from tests.memory.helpers import acme

    settings = Structure.from_platform(acme()).settings
    text = ('Set "Who can see your future posts" to "Friends", turn "Personalised ads" "off", '
            'and keep "Two-step verification" "on".')
    assert unknown_setting_names(text, settings) == []
    assert unknown_setting_names('Flip "Sell my face"', settings) == ["Sell my face"]
    # a phrase quoted from a retrieved passage is not a setting name
    assert unknown_setting_names('They say "we sell nothing"', settings, ["We sell nothing to anyone."]) == []


def test_apostrophes_are_not_quotes():
    from agent.setting_names import unknown_setting_names
    from memory.structure import Structure
    from tests.memory.helpers import acme

    settings = Structure.from_platform(acme()).settings
    assert unknown_setting_names("I don't know which one it's about, and you can't tell either.", settings) == []
