"""The administrator's audit viewer: labels in Vietnamese, names instead of ids, repeated events
folded, filters by action, person, record and date, and paging that keeps the filters."""

from __future__ import annotations

import re

from casework.audit import record


def _rows(html: str) -> list[str]:
    body = html[html.index("<tbody>"):html.index("</tbody>")]
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


def test_the_viewer_shows_labels_and_names_and_folds_repeats(signed_in, make_user, database):
    admin, _account = signed_in("admin")
    worker = make_user("collaborator")
    with database.transaction() as session:
        for _ in range(12):
            record(session, "client.viewed", actor_id=worker.user_id, actor_role="collaborator",
                   object_type="client", object_id="c-1")
        record(session, "client.note_added", actor_id=worker.user_id, actor_role="collaborator",
               object_type="client", object_id="c-1")
    html = admin.get("/admin/audit").get_data(as_text=True)
    text = re.sub(r"<[^>]+>", " ", html)  # what a person reads (option values and links aside)
    assert "admin.user_created" not in text and "client.viewed" not in text  # no raw codes
    assert worker.user_id not in text  # names, not ids
    rows = _rows(html)
    assert "Thêm ghi chép" in rows[0]
    folded = next(r for r in rows if "× 12" in r)
    assert "Staff " in folded


def test_the_viewer_filters_and_pages_keep_the_filters(signed_in, make_user, database):
    admin, _account = signed_in("admin")
    worker, other = make_user("collaborator"), make_user("collaborator")
    with database.transaction() as session:
        for n in range(70):
            record(session, "client.note_added", actor_id=worker.user_id, actor_role="collaborator",
                   object_type="client", object_id=f"c-{n}")
        record(session, "client.note_added", actor_id=other.user_id, actor_role="collaborator",
               object_type="client", object_id="c-x")
    first = admin.get(f"/admin/audit?action=client.note_added&person={worker.user_id}").get_data(as_text=True)
    rows = _rows(first)
    assert rows and all("Staff collaborator" in r for r in rows) and "c-x" not in first
    nxt = re.search(r'href="([^"]*page=2[^"]*)"', first).group(1).replace("&amp;", "&")
    assert f"person={worker.user_id}" in nxt and "action=client.note_added" in nxt
    second = admin.get(nxt).get_data(as_text=True)
    assert len(_rows(first)) + len(_rows(second)) >= 70 or "page=3" in second
    by_record = admin.get("/admin/audit?record=c-x").get_data(as_text=True)
    assert len(_rows(by_record)) == 1
    none = admin.get("/admin/audit?since=2000-01-01&until=2000-01-02").get_data(as_text=True)
    assert "Không có mục nào khớp" in none
