import pytest

from gridflow.spec import grid
from gridflow.spec.axes import split_axes


@pytest.mark.parametrize("value", [0.3, 0.30, 3e-1])
def test_equal_numbers_format_alike(value):
    assert grid.format_value(value) == "0.3"


def test_whole_floats_become_ints():
    assert grid.canonical_value(32.0) == 32 and isinstance(grid.canonical_value(32.0), int)
    assert grid.format_value(1.0) == "1"


def test_huge_whole_floats_stay_short_floats():
    assert grid.format_value(1e30) == "1e+30"


def test_small_floats_keep_exact_repr():
    assert grid.format_value(1e-5) == "1e-05"
    assert grid.format_value(0.1 + 0.2) == "0.30000000000000004"


def test_booleans_and_identifiers():
    assert grid.format_value(True) == "true"
    assert grid.format_value("relu") == "relu"


@pytest.mark.parametrize("bad", ["../../x", "a/b", "two words", "", "1e-3", float("nan"), float("inf"), None, [1]])
def test_unsafe_values_are_rejected(bad):
    with pytest.raises(ValueError):
        grid.canonical_value(bad)


def test_cell_id_sorts_axes_and_formats_values():
    values = {"learning_rate": 0.10, "activation": "relu", "batch_size": 4.0}
    assert grid.cell_id(values) == "activation~relu/batch_size~4/learning_rate~0.1"


def test_cell_id_pattern_matches_ids_and_rejects_traversal():
    import re

    pattern = re.compile(rf"^{grid.cell_id_pattern()}$")
    assert pattern.match("activation~relu/batch_size~4/learning_rate~1e-05")
    assert not pattern.match("activation~relu/../x~1")
    assert not pattern.match("a~b/c")


def test_expand_grid_is_the_sorted_product_in_value_order():
    cells = grid.expand_grid({"b": [2, 1], "a": ["x", "y"]})
    assert cells == [{"a": "x", "b": 2}, {"a": "x", "b": 1}, {"a": "y", "b": 2}, {"a": "y", "b": 1}]


def test_default_grid_has_216_cells_with_unique_ids():
    default = {
        "hidden_units": [1, 32, 64],
        "activation": ["linear", "relu"],
        "dropout": [0, 0.3, 0.6],
        "batch_size": [4, 16, 32],
        "learning_rate": [0.01, 0.1, 0.5, 1],
    }
    assert len(grid.cells_by_id(default)) == 216
    assert len(grid.axis_pairs(default)) == 10


def test_split_axes_separates_training_from_model_axes():
    training, model = split_axes({"batch_size": 4, "learning_rate": 0.1, "dropout": 0.3})
    assert training == {"batch_size": 4, "learning_rate": 0.1}
    assert model == {"dropout": 0.3}


def test_parse_cell_id_inverts_cell_id():
    from gridflow.spec.grid import parse_cell_id

    values = {"dropout": 0.3, "activation": "relu", "learning_rate": 1e-05}
    assert parse_cell_id(grid.cell_id(values)) == {"activation": "relu", "dropout": "0.3", "learning_rate": "1e-05"}
