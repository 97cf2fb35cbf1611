import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import infra_model  # noqa: E402


@pytest.fixture(scope="session")
def infra():
    return infra_model.load_infra()


@pytest.fixture(scope="session")
def schema():
    return infra_model.store_schema()


@pytest.fixture(scope="session")
def crates():
    return infra_model.function_crates()
