"""The public catalog and live channels."""

from __future__ import annotations

import httpx


async def test_index_links_and_docs(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/")
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "Bayit+ API"
    assert body["links"]["content"] == "/api/v1/content"
    assert (await client.get("/openapi.json")).status_code == 200
    assert (await client.get("/docs")).status_code == 200


async def test_list_content_limit_and_shape(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/content", params={"limit": 5})
    assert r.status_code == 200
    body = r.json()
    assert len(body["items"]) == 5
    assert body["total"] >= 200
    assert body["next_offset"] == 5
    for item in body["items"]:
        assert {"id", "title", "type"} <= item.keys()
        assert item["type"] in ("movie", "series", "podcast")


async def test_default_limit_is_20_and_pages_do_not_overlap(client: httpx.AsyncClient) -> None:
    first = (await client.get("/api/v1/content")).json()
    second = (await client.get("/api/v1/content", params={"offset": 20})).json()
    assert len(first["items"]) == 20
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}


async def test_filters_and_search(client: httpx.AsyncClient) -> None:
    podcasts = (await client.get("/api/v1/content", params={"type": "podcast", "limit": 100})).json()
    assert podcasts["items"] and all(i["type"] == "podcast" for i in podcasts["items"])
    hebrew = (await client.get("/api/v1/content", params={"language": "he", "limit": 100})).json()
    assert all(i["language"] == "he" for i in hebrew["items"])
    drama = (await client.get("/api/v1/content", params={"category": "drama", "limit": 100})).json()
    assert drama["items"] and all(i["category"] == "drama" for i in drama["items"])
    found = (await client.get("/api/v1/content", params={"q": "ירושלים"})).json()
    assert found["total"] >= 1 and all("ירושלים" in i["title_he"] for i in found["items"])
    english = (await client.get("/api/v1/content", params={"q": "jerusalem"})).json()
    assert english["total"] == found["total"]
    nothing = (await client.get("/api/v1/content", params={"q": "100%_no_such"})).json()
    assert nothing == {"items": [], "total": 0, "limit": 20, "offset": 0, "next_offset": None}


async def test_out_of_range_and_bad_parameters_name_the_field(client: httpx.AsyncClient) -> None:
    for params, field in [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"type": "opera"}, "type"),
        ({"language": "hebrew"}, "language"),
    ]:
        r = await client.get("/api/v1/content", params=params)
        assert r.status_code == 422, params
        error = r.json()["error"]
        assert error["code"] == "validation_error"
        assert [f["field"] for f in error["fields"]] == [field]
        assert field in error["message"]


async def test_get_one_item_and_unknown_ids(client: httpx.AsyncClient) -> None:
    item = (await client.get("/api/v1/content", params={"limit": 1})).json()["items"][0]
    r = await client.get(f"/api/v1/content/{item['id']}")
    assert r.status_code == 200 and r.json() == item
    missing = await client.get("/api/v1/content/999999")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert (await client.get("/api/v1/content/abc")).status_code == 422
    assert (await client.get("/api/v1/content/99999999999999999999")).status_code == 422
    assert (await client.get("/api/v1/nope")).status_code == 404


async def test_live_channels(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/live", params={"limit": 5})
    assert r.status_code == 200
    items = r.json()["items"]
    assert len(items) == 5
    assert all({"id", "title", "type"} <= i.keys() for i in items)
    assert (await client.get("/api/v1/live", params={"limit": 500})).status_code == 422


async def test_catalog_pages_carry_an_etag_and_answer_304(client: httpx.AsyncClient) -> None:
    first = await client.get("/api/v1/content", params={"limit": 3})
    tag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=15"
    again = await client.get("/api/v1/content", params={"limit": 3}, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    weak = await client.get(
        "/api/v1/content", params={"limit": 3}, headers={"If-None-Match": f'"x", W/{tag}'}
    )
    assert weak.status_code == 304
    other = await client.get("/api/v1/content", params={"limit": 4}, headers={"If-None-Match": tag})
    assert other.status_code == 200 and other.headers["etag"] != tag
