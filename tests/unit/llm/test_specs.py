"""The tool definitions' token estimate that every chat's context budget subtracts."""

from __future__ import annotations

from ragline_common.registry import Tool
from ragline_llm.tokens import estimate_tokens
from ragline_llm.tools.specs import definitions_tokens, tool_definitions


def test_the_estimate_is_that_of_the_definitions_offered() -> None:
    for enabled in (frozenset(Tool), frozenset({Tool.RETRIEVE_MENU}), frozenset[Tool]()):
        assert definitions_tokens(enabled) == estimate_tokens(str(tool_definitions(enabled)))


def test_more_tools_leave_less_room() -> None:
    one = definitions_tokens(frozenset({Tool.RETRIEVE_MENU}))
    assert definitions_tokens(frozenset()) < one < definitions_tokens(frozenset(Tool))
