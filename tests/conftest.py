"""Shared fixtures."""

from __future__ import annotations

import pytest

from helpers import small_scenario


@pytest.fixture
def make_scenario():
    return small_scenario
