"""Phone pages: the plot list and one plot with latest readings and inline SVG charts."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
from fastapi.testclient import TestClient

from tests.api.builders import insert_readings, make_plot

VN = ZoneInfo("Asia/Ho_Chi_Minh")
# Size budget of one plot page for a phone on weak mobile data, before any HTTP compression:
# four 7-day hourly charts plus six latest readings stay well under it.
PAGE_BUDGET_BYTES = 32_000
CSS_BUDGET_BYTES = 4_000


def _week_of_readings(db: psycopg.Connection, plot: int) -> None:
    """Seven days of readings every 15 minutes, rainfall of 3.6 mm in total, an old battery."""
    now = datetime.now(VN)
    rows = []
    for k in range(7 * 24 * 4 - 1):
        moment = now - timedelta(minutes=15 * k + 5, seconds=30)
        rows.append((moment, "st-0001", "air_temperature", 24 + 5 * math.sin(k / 15), "°C"))
        rows.append((moment, "st-0001", "relative_humidity", 80 - 10 * math.sin(k / 15), "%"))
        rows.append((moment, "st-0001", "soil_moisture_20cm", 36 + 3 * math.cos(k / 60), "%"))
        rows.append((moment, "st-0001", "soil_moisture_50cm", 41 + math.cos(k / 90), "%"))
    rows += [(now - timedelta(hours=h), "st-0001", "rainfall", mm, "mm")
             for h, mm in ((30, 1.2), (31, 0.4), (100, 2.0))]
    rows.append((now - timedelta(days=8), "st-0001", "rainfall", 50.0, "mm"))
    rows.append((now - timedelta(hours=9), "st-0001", "battery", 3.61, "V"))
    insert_readings(db, plot, rows)


def _links(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="([^"]*)"', html)


def test_plot_page_vietnamese(db: psycopg.Connection, client: TestClient) -> None:
    plot = make_plot(db, "C12-04", farm="NT1", company="CT74", clone="RRIV 209")
    _week_of_readings(db, plot)

    response = client.get(f"/plots/{plot}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<html lang="vi">' in html
    for text in ("Lô C12-04", "Nông trường", "NT1", "CT74", "RRIV 209", "10,76 ha",
                 "Đang khai thác", "Số đo mới nhất", "Độ ẩm đất ở 20 cm", "Nhiệt độ không khí",
                 "5 phút trước", "9 giờ trước", "đã cũ", "3,61", "Tổng 7 ngày: 3,6\u00a0mm",
                 "7 ngày qua, theo giờ", "giờ Việt Nam (UTC+07:00)"):
        assert text in html, text
    assert "<h1>Lô C12-04</h1>" in html
    assert "giờ Asia/Ho_Chi_Minh" not in html
    assert 'data-timezone="Asia/Ho_Chi_Minh"' in html
    assert html.count("<svg") == 4
    assert 'class="line"' in html
    assert 'class="bars"' in html
    assert len(response.content) < PAGE_BUDGET_BYTES


def test_plot_page_english(db: psycopg.Connection, client: TestClient) -> None:
    plot = make_plot(db, "C12-04")
    _week_of_readings(db, plot)

    html = client.get(f"/plots/{plot}", params={"lang": "en"}).text

    assert '<html lang="en">' in html
    for text in ("Plot C12-04", "Farm", "Latest readings", "Soil moisture at 20 cm",
                 "5 min ago", "10.76 ha", "7-day total: 3.6\u00a0mm", "Last 7 days, hourly",
                 "Vietnam time (UTC+07:00)"):
        assert text in html, text
    assert "Asia/Ho_Chi_Minh time" not in html
    assert "Nông trường" not in html
    assert f'href="/plots/{plot}?lang=vi"' in html
    assert "<svg" in html


def test_plot_page_heading_code_with_word(db: psycopg.Connection, client: TestClient) -> None:
    plot = make_plot(db, "Lô 1")

    vi = client.get(f"/plots/{plot}").text
    en = client.get(f"/plots/{plot}", params={"lang": "en"}).text

    assert "<h1>Lô 1</h1>" in vi
    assert "Lô Lô" not in vi
    assert "<h1>Lô 1</h1>" in en
    assert "Plot Lô" not in en


def test_plot_page_rainfall_mean_of_gauges(db: psycopg.Connection, client: TestClient) -> None:
    plot = make_plot(db)
    hour = datetime.now(VN).replace(minute=0, second=0, microsecond=0)
    # Two gauges in one plot, each 21 mm over the week: the plot had 21 mm of rain, not 42. Both
    # report within the same local hours, whatever the minute the test runs at.
    insert_readings(db, plot, [
        (hour - timedelta(hours=hours) + timedelta(minutes=minutes), device, "rainfall", 7.0, "mm")
        for hours in (5, 30, 100) for device, minutes in (("gauge-1", 10), ("gauge-2", 20))
    ])

    vi = client.get(f"/plots/{plot}").text
    en = client.get(f"/plots/{plot}", params={"lang": "en"}).text

    assert "Tổng 7 ngày: 21,0\u00a0mm" in vi
    assert "7-day total: 21.0\u00a0mm" in en


def test_plot_page_language_from_header(db: psycopg.Connection, client: TestClient) -> None:
    plot = make_plot(db)
    html = client.get(f"/plots/{plot}", headers={"Accept-Language": "en-US,en;q=0.9"}).text
    assert "Latest readings" in html


def test_plot_page_no_external_assets(db: psycopg.Connection, client: TestClient) -> None:
    plot = make_plot(db)
    _week_of_readings(db, plot)

    html = client.get(f"/plots/{plot}").text

    assert _links(html)
    assert all(link.startswith("/") for link in _links(html)), _links(html)
    assert "<script" not in html


def test_plot_page_without_readings(db: psycopg.Connection, client: TestClient) -> None:
    plot = make_plot(db)

    response = client.get(f"/plots/{plot}")

    assert response.status_code == 200
    assert "Chưa có số đo nào từ lô này." in response.text
    assert "<svg" not in response.text


def test_plot_page_missing_is_html_404(db: psycopg.Connection, client: TestClient) -> None:
    vi = client.get("/plots/999999")
    en = client.get("/plots/999999", params={"lang": "en"})

    assert vi.status_code == 404
    assert vi.headers["content-type"].startswith("text/html")
    assert "Không có lô số 999999." in vi.text
    assert en.status_code == 404
    assert "Plot 999999 does not exist." in en.text


def test_plot_list_page_paged(db: psycopg.Connection, client: TestClient) -> None:
    ids = [make_plot(db, f"A{i:02d}") for i in range(25)]

    first = client.get("/").text
    second = client.get("/", params={"offset": 20, "lang": "en"}).text

    assert first.count('href="/plots/') == 20
    assert f'href="/plots/{ids[0]}"' in first
    assert 'href="/?offset=20"' in first
    assert "Trang sau" in first
    assert "Trang trước" not in first
    assert second.count('href="/plots/') == 5
    assert f'href="/plots/{ids[24]}?lang=en"' in second
    assert 'href="/?lang=en"' in second
    assert "Previous" in second
    assert "Next" not in second


def test_plot_list_page_empty(db: psycopg.Connection, client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "Chưa có lô nào." in response.text


def test_stylesheet_served_small(client: TestClient) -> None:
    response = client.get("/static/app.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert len(response.content) < CSS_BUDGET_BYTES
