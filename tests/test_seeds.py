"""camlib.seeds: seed variants of a zoo recipe, cached models, and the seed table."""

import numpy as np
import pytest

from camlib import models, seeds


def test_seed_zero_without_overrides_is_the_zoo_model_itself():
    assert models.cache_key(seeds.variant("shapes-gap", 0)) == models.cache_key("shapes-gap")
    assert seeds.variant("shapes-gap", 0)["name"] == "shapes-gap"


def test_a_variant_changes_only_the_seed_and_the_overrides():
    base, other = models.config("shapes-gmp"), seeds.variant("shapes-gmp", 3, epochs=2)
    changed = {key for key in base if base[key] != other[key]}
    assert changed == {"seed", "epochs", "name"}
    assert other["name"] == "shapes-gmp-seed3"
    assert models.cache_key(other) != models.cache_key(seeds.variant("shapes-gmp", 4, epochs=2))


def test_every_seed_is_scored_on_one_test_set_that_no_seed_trains_on():
    images, labels, _ = seeds.test_set("shapes-gap", n=8)
    for seed in seeds.DEFAULT_SEEDS:
        train_images, _, _ = models.dataset(seeds.variant("shapes-gap", seed), "train", n=8)
        assert not np.array_equal(train_images, images)
    again, _, _ = seeds.test_set("shapes-gap", n=8)
    assert np.array_equal(again, images) and len(labels) == 8


def test_models_trains_each_seed_once_then_loads_it(tmp_path):
    tiny = dict(n_train=64, n_val=32, n_test=32, epochs=1, model_kwargs={"width": 4})
    first = seeds.models("shapes-gap", seeds=(0, 1), cache_dir=tmp_path, **tiny)
    assert sorted(first) == [0, 1]
    assert len(list(tmp_path.glob("*.weights.h5"))) == 2
    weights = [m.get_layer("fc").get_weights()[0] for m in first.values()]
    assert not np.allclose(weights[0], weights[1])       # two seeds, two trainings
    again = seeds.models("shapes-gap", seeds=(1,), cache_dir=tmp_path, **tiny)
    assert np.array_equal(again[1].get_layer("fc").get_weights()[0], weights[1])


def test_seed_table_gives_one_row_per_seed_and_the_mean():
    rows, columns, summary = seeds.seed_table({0: {"GAP": 0.8, "GMP": 0.3},
                                               1: {"GAP": 0.9, "GMP": 0.4},
                                               2: {"GAP": 0.7, "GMP": 0.2}})
    assert columns == ["seed", "GAP", "GMP"] and len(rows) == 4
    assert summary["GAP"].value == pytest.approx(0.8) and summary["GAP"].n == 3
    assert rows[-1][0].startswith("mean")


@pytest.mark.parametrize("bad", [[], [0, 0], [-1], [1.5], [True], ["1"], [None],
                                 [float("nan")], 3, "01", None])
def test_bad_seeds_are_refused(bad):
    with pytest.raises(ValueError, match="seed"):
        seeds.models("shapes-gap", seeds=bad)


def test_seed_table_refuses_mismatched_names():
    with pytest.raises(ValueError, match="same names"):
        seeds.seed_table({0: {"GAP": 1.0}, 1: {"GMP": 1.0}})
    with pytest.raises(ValueError, match="empty"):
        seeds.seed_table({})


def test_a_variant_of_numpy_seed_is_the_variant_of_the_int():
    assert seeds.variant("shapes-gap", np.int64(2)) == seeds.variant("shapes-gap", 2)


@pytest.mark.parametrize("bad", [{0: 0.5, 1: 0.7}, {0: {}, 1: {}}])
def test_seed_table_refuses_rows_that_are_not_named_numbers(bad):
    with pytest.raises(ValueError, match="named numbers"):
        seeds.seed_table(bad)
