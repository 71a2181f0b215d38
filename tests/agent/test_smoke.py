async def test_what_changed_fast_path(chat):
    turn = await chat("what changed?")
    print(turn.text, turn.events)
    assert turn.llm_calls == 0
    assert "Location History" in turn.text
