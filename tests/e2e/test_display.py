"""The operator display in Debian's Chromium (Playwright), against a live demo.

One demo plays paced (`SPEED` scenario seconds per second) with every party's display
served on free ports, in a thread of this process. JPN's banner is fed an injected
alert instead of its node's (which is up only from L+91 s to the all-clear after
impact: tens of seconds at this speed, so the check would race the tests' own pace;
`test_display_truth` and the unit tests cover the node's alerts reaching the state).
The tests watch it as it plays:
the page loads, events appear, the impact ellipse shrinks as updates arrive, the
banner is up for JPN only, JPN's page never shows a ROK sensor, events are chosen with
the keyboard. Screenshots go to build/artefacts/.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from tests.factories import T0, envelope, party_state, track
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S
from warnlink.sources.health import SourceHealth, SourceState
from warnlink.web.app import STATIC
from warnlink.web.display import EMPTY_AREAS, Display
from warnlink.web.live import serve_demo
from warnlink.web.serve import DisplayServers
from warnlink.web.view import Alert

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parents[2] / "build" / "artefacts"
#: Scenario seconds per wall-clock second: the first impact predictions shrink from tens
#: of km to a few within about ten seconds.
SPEED = 20.0
ROK_SENSORS = ("ROK-GR1", "ROK-GR2")
JPN_ALERT = Alert("JPN-E1", "eez", "Impact predicted in Japan's EEZ (injected test alert)")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not CHROMIUM.exists():
    pytest.skip(
        "Debian's chromium is not installed (/usr/bin/chromium): `make test` installs it "
        "where apt-get can",
        allow_module_level=True,
    )
if not (STATIC / "vendor" / "leaflet.js").exists():
    pytest.skip(
        "the display's map assets are not built: run `make web-assets` (needs npm)",
        allow_module_level=True,
    )

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def urls() -> Iterator[dict[str, str]]:
    """Every party's display URL, live while the demo plays in a background thread."""
    ready = threading.Event()
    found: dict[str, str] = {}
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def on_ready(given: dict[str, str]) -> None:
        found.update(given)
        ready.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(
            serve_demo(
                stop,
                speed=SPEED,
                base_port=0,
                alerts={"JPN": lambda: [JPN_ALERT]},
                on_ready=on_ready,
            )
        )

    thread = threading.Thread(target=run, name="live-demo", daemon=True)
    thread.start()
    assert ready.wait(30), "the display servers did not start"
    yield found
    loop.call_soon_threadsafe(stop.set)
    thread.join(30)
    assert not thread.is_alive(), "the live demo did not stop"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    # Playwright's launch gives Chromium a fresh, temporary --user-data-dir of its own.
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def pages(browser: object, urls: dict[str, str]) -> Iterator[dict[str, object]]:
    """One page per party, at 1920x1080; JPN's WebSocket frames are kept for inspection."""
    opened: dict[str, object] = {}
    frames: list[str] = []
    for party, url in urls.items():
        page = browser.new_page(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
        page.add_init_script(ELLIPSE_RECORDER)  # type: ignore[attr-defined]
        if party == "JPN":
            page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(f)))
        page.goto(url)
        opened[party] = page
    opened["jpn_frames"] = frames
    yield opened
    for party in urls:
        opened[party].close()  # type: ignore[attr-defined]


#: Installed before each page's own script: records, from the page's first moment, every
#: drawn size (px) of each originator's impact ellipses with the map's zoom, whenever it
#: changes. The demo plays on while the browser starts, so a test that only began watching
#: when it ran could miss the shrink on a loaded machine.
ELLIPSE_RECORDER = """
window.ellipseSizes = {};
new MutationObserver(() => {
  if (typeof map === "undefined") return;
  for (const by of ["ROK", "JPN", "USA"]) {
    const boxes = [...document.querySelectorAll(`path.impact-ellipse.by-${by}`)]
      .map((p) => p.getBoundingClientRect());
    if (!boxes.length) continue;
    const size = Math.max(...boxes.map((b) => Math.max(b.width, b.height)));
    const seen = (window.ellipseSizes[by] ||= []);
    const last = seen[seen.length - 1];
    if (!last || last[0] !== map.getZoom() || last[1] !== size) seen.push([map.getZoom(), size]);
  }
}).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["d"] });
"""


def _ellipse_sizes(page: object, originator: str) -> list[float]:
    """Every drawn size (px) of `originator`'s impact ellipses so far, at the first zoom seen."""
    seen = page.evaluate("(by) => window.ellipseSizes[by] || []", originator)  # type: ignore[attr-defined]
    return [float(size) for zoom, size in seen if zoom == seen[0][0]] if seen else []


def test_the_page_loads_and_events_appear(pages: dict[str, object]) -> None:
    for party in ("ROK", "JPN", "USA"):
        page = pages[party]
        page.wait_for_selector("#events li", timeout=60_000)  # type: ignore[attr-defined]
        assert page.title() == f"warnlink {party}"  # type: ignore[attr-defined]
        assert page.locator("#links li").count() >= 1  # type: ignore[attr-defined]


def test_the_impact_ellipse_shrinks_as_updates_arrive(pages: dict[str, object]) -> None:
    page = pages["USA"]
    page.wait_for_selector("path.impact-ellipse.by-USA", timeout=60_000)  # type: ignore[attr-defined]
    # Up to 40 s (800 scenario seconds at SPEED, past impact): the sizes are recorded from
    # the page's first moment at the map's opening zoom, so a late start loses nothing.
    sizes = _ellipse_sizes(page, "USA")
    for _ in range(160):
        if sizes and sizes[-1] < 0.5 * max(sizes):
            break
        page.wait_for_timeout(250)  # type: ignore[attr-defined]
        sizes = _ellipse_sizes(page, "USA")
    assert sizes, "no USA impact ellipse was recorded"
    assert sizes[-1] < 0.5 * max(sizes), sizes
    # Zoomed on the impact area for the record, so that a few km are several pixels.
    page.evaluate("map.setView([40.4, 136.0], 8, {animate: false})")  # type: ignore[attr-defined]
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "usa-impact-area-1920x1080.png"))  # type: ignore[attr-defined]


def test_the_banner_is_up_for_the_threatened_party_only(pages: dict[str, object]) -> None:
    jpn = pages["JPN"]
    jpn.wait_for_selector("#banner:not([hidden])", timeout=10_000)  # type: ignore[attr-defined]
    assert "Japan's EEZ" in jpn.locator("#banner").inner_text()  # type: ignore[attr-defined]
    for party in ("ROK", "USA"):
        assert pages[party].locator("#banner").is_hidden()  # type: ignore[attr-defined]


def test_jpn_never_shows_a_rok_sensor_and_usa_does(pages: dict[str, object]) -> None:
    usa, jpn = pages["USA"], pages["JPN"]
    usa.wait_for_function(  # type: ignore[attr-defined]
        "document.querySelector('#contributions').innerText.includes('ROK-GR')",
        timeout=30_000,
    )
    jpn.wait_for_function(  # type: ignore[attr-defined]
        "document.querySelector('#contributions').innerText.includes('ROK')", timeout=30_000
    )
    text = jpn.locator("body").inner_text()  # type: ignore[attr-defined]
    html = jpn.content()  # type: ignore[attr-defined]
    frames = pages["jpn_frames"]
    assert frames
    for name in ROK_SENSORS:
        assert name not in text
        assert name not in html
        assert not any(name in frame for frame in frames)  # type: ignore[attr-defined]
    served = json.loads(frames[-1])  # type: ignore[index]
    assert served["party"] == "JPN"
    rows = jpn.locator("#decisions tbody tr").all_inner_texts()  # type: ignore[attr-defined]
    assert rows
    assert all("JPN" in row for row in rows)


def test_events_are_chosen_with_the_keyboard(pages: dict[str, object]) -> None:
    page = pages["JPN"]
    events = page.locator("#events")  # type: ignore[attr-defined]
    events.focus()
    ids = events.locator("li").evaluate_all("(items) => items.map((i) => i.dataset.eventId)")
    for key, expected in (
        ("End", ids[-1]),
        ("Home", ids[0]),
        ("ArrowDown", ids[min(1, len(ids) - 1)]),
    ):
        page.keyboard.press(key)  # type: ignore[attr-defined]
        selected = events.locator("li[aria-selected='true']")
        assert selected.get_attribute("data-event-id") == expected
        assert page.locator("#detail-title").inner_text().startswith(expected)  # type: ignore[attr-defined]


def test_screenshots_on_an_operations_screen_and_a_laptop(
    browser: object, urls: dict[str, str], pages: dict[str, object]
) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1920, 1080), (1366, 768)):
        for party, url in urls.items():
            page = browser.new_page(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
            page.goto(url)
            page.wait_for_selector("body[data-base='loaded'] #events li", timeout=30_000)
            path = ARTEFACTS / f"{party.lower()}-{width}x{height}.png"
            page.screenshot(path=str(path))
            page.close()
            assert path.stat().st_size > 10_000


def _is_a_strip_across_the_top(page: object, selector: str) -> bool:
    box = page.locator(selector).bounding_box()  # type: ignore[attr-defined]
    width = page.viewport_size["width"]  # type: ignore[attr-defined]
    return bool(box and box["y"] == 0 and box["width"] >= width - 1 and box["height"] >= 20)


def test_the_demo_s_simulated_data_is_bannered_and_every_event_badged(
    pages: dict[str, object],
) -> None:
    for party in ("ROK", "JPN", "USA"):
        page = pages[party]
        page.wait_for_selector("#mode-banner:not([hidden])", timeout=60_000)  # type: ignore[attr-defined]
        assert "SIMULATED" in page.locator("#mode-banner").inner_text()  # type: ignore[attr-defined]
        assert _is_a_strip_across_the_top(page, "#mode-banner")
        page.wait_for_selector("#events li", timeout=60_000)  # type: ignore[attr-defined]
        items = page.locator("#events li")  # type: ignore[attr-defined]
        badges = page.locator("#events li .mode-badge.mode-SIMULATED")  # type: ignore[attr-defined]
        assert badges.count() == items.count() >= 1
        assert badges.first.inner_text() == "SIMULATED"


@pytest.fixture(scope="module")
def mode_urls() -> Iterator[dict[str, str]]:
    """USA's display of one real missile; JPN's of a real missile and an exercise track."""
    now = T0 + 10 * NS_PER_S
    real, mixed = party_state("USA", now_ns=now), party_state("JPN", now_ns=now)
    drill = envelope(track(9), originator="USA", seq=9)
    mixed.apply(msgspec.structs.replace(drill, data_mode=DataMode.EXERCISE))
    displays = []
    jpn_sources = [
        SourceHealth("c2-main", SourceState.LIVE, now - NS_PER_S, 58, 120, 2, (), 1.0, "REAL"),
        SourceHealth(
            "tak-east",
            SourceState.SILENT,
            now - 90 * NS_PER_S,
            0,
            7,
            0,
            (("speed", 3),),
            5.0,
            "EXERCISE",
        ),
    ]
    for view, name in ((real, "United States"), (mixed, "Japan")):
        sources = (lambda: jpn_sources) if view.party == "JPN" else None
        display = Display(view.party, name, [], areas=EMPTY_AREAS, sources=sources)
        display.attach(view)
        displays.append(display)
    servers = DisplayServers(displays, base_port=0)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(
        target=lambda: loop.run_until_complete(servers.run(stop)), name="mode-displays", daemon=True
    )
    thread.start()
    yield servers.urls
    loop.call_soon_threadsafe(stop.set)
    thread.join(30)
    assert not thread.is_alive(), "the displays did not stop"


def test_exercise_data_is_bannered_and_badged_and_real_data_is_not(
    browser: object, mode_urls: dict[str, str]
) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768})  # type: ignore[attr-defined]
    page.goto(mode_urls["JPN"])
    page.wait_for_function("document.querySelectorAll('#events li').length === 2", timeout=30_000)
    page.wait_for_selector("#mode-banner:not([hidden])", timeout=10_000)
    assert page.locator("#mode-banner").inner_text().startswith("EXERCISE")
    assert _is_a_strip_across_the_top(page, "#mode-banner")
    drill = page.locator("#events li[data-mode='EXERCISE']")
    assert drill.locator(".mode-badge.mode-EXERCISE").inner_text() == "EXERCISE"
    assert page.locator("#events li[data-mode='REAL'] .mode-badge").count() == 0
    drill.click()
    assert page.locator("#detail-title .mode-badge").inner_text() == "EXERCISE"
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "jpn-exercise-1366x768.png"))
    page.close()

    page = browser.new_page(viewport={"width": 1366, "height": 768})  # type: ignore[attr-defined]
    page.goto(mode_urls["USA"])
    page.wait_for_selector("#events li", timeout=30_000)
    assert page.locator("#mode-banner").is_hidden()
    assert page.locator(".mode-badge").count() == 0
    page.close()


def test_national_sources_are_listed_and_a_silent_one_stands_out(
    browser: object, mode_urls: dict[str, str]
) -> None:
    """The duty officer sees each national source's state; one gone silent is marked
    (a feed that stopped is a warning that will not come)."""
    page = browser.new_page(viewport={"width": 1366, "height": 768})  # type: ignore[attr-defined]
    page.goto(mode_urls["JPN"])
    page.wait_for_selector("#sources-panel:not([hidden])", timeout=30_000)
    rows = page.locator("#sources tbody tr")
    assert rows.count() == 2
    silent = page.locator("#sources tr[data-source='tak-east']")
    assert "silent" in silent.inner_text()
    assert "speed 3" in silent.inner_text()
    assert "EXERCISE" in silent.inner_text()
    colour = silent.locator("td").first.evaluate("c => getComputedStyle(c).backgroundColor")
    live = page.locator("#sources tr[data-source='c2-main'] td").first
    assert colour != live.evaluate("c => getComputedStyle(c).backgroundColor")
    page.close()
    page = browser.new_page(viewport={"width": 1366, "height": 768})  # type: ignore[attr-defined]
    page.goto(mode_urls["USA"])
    page.wait_for_selector("#events li", timeout=30_000)
    assert page.locator("#sources-panel").is_hidden()  # no sources: no panel
    page.close()
