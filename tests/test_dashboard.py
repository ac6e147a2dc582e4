"""The dashboard (``sim dashboard``): its controls come from the schema, and in a real headless
browser (Debian's chromium, driven by playwright without playwright's own browser builds) the page
loads, a control changes a value, a step advances the run and a chart updates.

Set ``SIM_DASHBOARD_SCREENSHOT=path.png`` to also play the run for a while and save a screenshot
(docs/dashboard.png is made this way)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from sim.dashboard.access import DashboardModel
from sim.dashboard.controls import control, field_info, load_scenario, model_params

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_controls_follow_the_schema():
    c = control("operation.hijack_fraction", 0.2)
    assert (c["type"], c["min"], c["max"], c["value"]) == ("SliderFloat", 0.0, 1.0, 0.2)
    c = control("operation.utc_offset", 8)
    assert (c["type"], c["min"], c["max"]) == ("SliderInt", -12, 14)
    c = control("operation.fluency_mean", 0.3)  # gt=0: the slider starts above 0
    assert 0 < c["min"] < 0.3 and c["max"] == 0.99
    c = control("moderation.action", "remove")
    assert c["type"] == "Select" and c["values"] == ["remove", "demote", "demote_then_remove"]
    assert control("moderation.enabled", True)["type"] == "Checkbox"
    c = control("moderation.review_delay_hours", 12.0)  # schema allows 10,000: slider stops
    assert c["max"] == 500 and c["min"] == 0
    assert field_info("platforms.1.ranking").annotation.__args__ == ("chronological",
                                                                     "engagement")


def test_model_params_start_at_the_scenario():
    params = model_params(load_scenario(ROOT / "experiments/spamouflage.toml"), 2000)
    assert params["seed"]["value"] == "20230829"
    assert params["operation.posts_per_account_day"]["value"] == 8.0
    assert params["platforms.1.ranking"]["value"] == "chronological"
    assert params["n_users"] == 2000
    for key, c in params.items():  # a slider snaps to its steps: each must hit its start value
        if isinstance(c, dict) and c.get("type", "").startswith("Slider"):
            k = (c["value"] - c["min"]) / c["step"]
            assert abs(k - round(k)) < 1e-6 and c["min"] <= c["value"] <= c["max"], key


def test_dashboard_model_takes_levers_and_seed():
    scenario = load_scenario(ROOT / "experiments/spamouflage.toml")
    m = DashboardModel(scenario, 2000, seed="7", **{"operation.fluency_mean": 0.8,
                                                    "platforms.0.ranking": "chronological"})
    assert m.seed == 7 and m.cfg.operation.fluency_mean == 0.8
    assert m.cfg.platforms[0].ranking == "chronological"
    m.step()
    assert len(m.ledger.rows) == 1
    bad = DashboardModel(scenario, 2000, seed="x")
    assert bad.seed == 20230829 and "not a non-negative integer" in bad.seed_note


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server():
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "dashboard", str(ROOT / "experiments/spamouflage.toml"),
         "--users", "5000", "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("dashboard server exited")
                time.sleep(0.25)
        else:
            pytest.fail("dashboard server did not start within 30 s")
        yield url
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=10)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed")
def test_in_a_headless_browser(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        browser = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1500, "height": 1100})
        page = browser.new_page()
        page.goto(server)
        # loads: Mesa's controls, the schema's levers and the run card
        page.get_by_role("button", name="Step").wait_for(timeout=30_000)
        page.get_by_text("hour 0", exact=False).wait_for(timeout=30_000)
        assert page.get_by_text("fluency_mean").count() >= 1
        chart = page.locator("img").first
        chart.wait_for(timeout=30_000)
        before = chart.get_attribute("src")

        # a control changes a value: type a seed, pick an action, Reset rebuilds the model
        seed = page.get_by_label("seed (run.seed)")
        seed.fill("42")
        seed.press("Enter")
        page.locator(".v-select", has_text="moderation.action").locator(".v-select__slot").click()
        page.get_by_role("option", name="demote", exact=True).click()
        page.get_by_role("button", name="Reset").click()
        page.get_by_text("seed 42", exact=False).wait_for(timeout=30_000)
        page.get_by_text("moderation.action = demote,", exact=False).wait_for(timeout=10_000)

        # a step advances the run and the chart updates
        t0 = time.perf_counter()
        page.get_by_role("button", name="Step").click()
        page.get_by_text("hour 1 ", exact=False).wait_for(timeout=30_000)
        page.wait_for_function("src => document.querySelector('img').src !== src", arg=before,
                               timeout=10_000)
        assert chart.get_attribute("src") != before
        first = time.perf_counter() - t0  # includes compiling the model's kernels once
        t0 = time.perf_counter()
        page.get_by_role("button", name="Step").click()
        page.get_by_text("hour 2 ", exact=False).wait_for(timeout=30_000)
        print(f"browser: first step + redraw {first:.2f} s, second "
              f"{time.perf_counter() - t0:.2f} s")

        # the other views draw: exposure and removals, the network sample, one post
        for tab, expect in (("Page 1", "Who was reached, and removals"),
                            ("Page 2", "Follower network sample"),
                            ("Page 3", "not a list of who read")):
            page.get_by_role("tab", name=tab).click()
            page.get_by_text(expect, exact=False).wait_for(timeout=30_000)
            if os.environ.get("SIM_DASHBOARD_TABS"):
                page.wait_for_timeout(1500)
                page.screenshot(path=f"{os.environ['SIM_DASHBOARD_TABS']}_{tab[-1]}.png")
        page.get_by_text("reads by real users", exact=False).wait_for(timeout=30_000)
        page.get_by_role("tab", name="Page 0").click()
        page.get_by_text("hour 2 ", exact=False).wait_for(timeout=30_000)

        shot = os.environ.get("SIM_DASHBOARD_SCREENSHOT")
        if shot:
            page.get_by_role("button", name="▶").click()
            page.wait_for_function(
                "() => +((document.body.innerText.match(/hour (\\d+) /) || [0, 0])[1]) >= 36",
                timeout=120_000)
            page.get_by_role("button", name="❚❚").click()
            page.wait_for_timeout(1500)
            page.screenshot(path=shot)
        browser.close()
