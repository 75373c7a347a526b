"""Every generated file in the repository matches what its source generates now."""

import pytest

from ragline_dev import generate


@pytest.mark.parametrize("path", sorted(generate.render_all()))
def test_generated_file_is_up_to_date(path: str) -> None:
    documents = generate.render_all()
    problems = generate.drift({path: documents[path]})
    assert not problems, problems[0]
