"""The bench's ratios: the nightly run's share of the full run, with or without the floors."""

from __future__ import annotations

from benchmarks.run import ratios


def step(wall: float, cpu: float) -> dict[str, float]:
    return {"wall_s": wall, "cpu_s": cpu}


MEASURED = {
    "validate": step(600, 500),
    "load": step(30, 20),
    "build": step(70, 80),
    "validate_nightly": step(20, 15),
    "load_nightly": step(5, 4),
    "build_nightly": step(10, 9),
}


def test_the_nightly_share_is_the_nightly_validate_load_and_build_over_the_full_ones():
    result = ratios(MEASURED)

    assert result["nightly run / full run"] == 0.05  # 35 / 700
    assert result["nightly run / full run, cpu"] == round(28 / 600, 3)
    assert result["nightly build / full build"] == round(10 / 70, 3)
    assert "validate / json_floor" not in result  # the floors were skipped


def test_with_the_floors_the_ratios_to_them_are_given_too():
    result = ratios(
        MEASURED | {"load_floor": step(15, 10), "score_floor": step(7, 7), "json_floor": step(300, 290)}
    )

    assert (result["load / load_floor"], result["build / score_floor"], result["validate / json_floor"]) == (
        2.0,
        10.0,
        2.0,
    )
