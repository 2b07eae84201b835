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
