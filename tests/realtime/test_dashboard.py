"""The dashboard's files and /docs are served from the service itself, with no CDN."""

import re


def test_dashboard_files_are_served(client):
    page = client.get("/dashboard/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for asset in re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page.text):
        r = client.get(f"/dashboard/{asset}")
        assert r.status_code == 200 and len(r.content) > 1000, asset
    assert "http://" not in page.text and "https://" not in page.text
    root = client.get("/", follow_redirects=False)
    assert root.status_code in (302, 307) and root.headers["location"] == "dashboard/"


def test_docs_use_local_swagger_assets(client):
    docs = client.get("/docs")
    assert docs.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", docs.text)
    assert urls and not [u for u in urls if u.startswith(("http:", "https:", "//"))], urls
    for url in urls:
        assert client.get(f"/{url}").status_code == 200, url
    assert "'/openapi.json'" in docs.text or '"/openapi.json"' in docs.text
    assert client.get("/redoc").status_code == 404  # ReDoc would fetch its script from a CDN


def test_the_schema_is_for_users_with_a_key(client):
    from tests.realtime.conftest import ADMIN_KEY

    assert client.get("/openapi.json").status_code == 401
    r = client.get("/openapi.json", headers={"X-API-Key": ADMIN_KEY})
    assert r.status_code == 200 and "/api/v1/orders" in r.json()["paths"]
    assert "X-API-Key" in client.get("/docs").text  # the docs page sends the signed-in key


def test_a_public_schema_when_configured(ledger_dir):
    from fastapi.testclient import TestClient

    from realtime.main import create_app
    from tests.realtime.conftest import settings_for

    with TestClient(create_app(settings_for(ledger_dir, docs_public=True))) as c:
        assert c.get("/openapi.json").status_code == 200
