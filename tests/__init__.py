"""The test suite; tests/support asserts report as test modules do."""

import pytest

pytest.register_assert_rewrite("tests.support")
