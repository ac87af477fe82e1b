"""The thread ledger: the planning of each night's thread budget, and the file that remembers."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from rapport import zones
from rapport.thread_ledger import (
    ListedThread,
    ThreadLedger,
    ThreadPlan,
    ThreadReport,
    ThreadState,
    plan_thread_reads,
    read_ledger,
    record_extraction,
)

NIGHT = date(2026, 11, 23)
MONDAY = datetime(2026, 11, 16, 9)


def at(days: int) -> datetime:
    return MONDAY - timedelta(days=days)


def never_quarantined(run_date: date, extraction_id: str) -> bool:
    return False


def state(days: int, listed: int, read: int | None, root_id: str | None = None) -> ThreadState:
    return ThreadState(created_at=at(days), listed_count=listed, read_count=read, root_id=root_id)


def record(
    path: Path,
    run_date: date,
    extraction_id: str,
    listed: list[ListedThread],
    plan: ThreadPlan,
    unreached: frozenset[str] = frozenset(),
) -> ThreadReport:
    """Record an extraction that read the plan's threads, each covering what was planned in it but
    the posts ``unreached``."""
    report = ThreadReport(listed=listed, plan=plan)
    for thread in report.threads_to_read():
        report.add_read(
            thread,
            [
                post_id
                for post_id, _ in plan.covers.get(thread, ((thread, 0),))
                if post_id == thread or post_id not in unreached
            ],
        )
    record_extraction(path, report, run_date, extraction_id)
    return report


def test_changed_threads_come_first_newest_first_then_the_backlog_newest_first_within_the_budget() -> None:
    ledger = ThreadLedger(
        {
            "same": state(1, 3, 3),  # listed tonight with the count it was read at: not due
            "changed-old": state(5, 1, 1),
            "old-unread-newer": state(60, 2, None),
            "old-unread-older": state(90, 2, None),
            "old-out-of-date": state(70, 4, 2),
            "old-read": state(80, 5, 5),
        }
    )
    listed = [
        ListedThread("same", at(1), 3),
        ListedThread("changed-old", at(5), 2),
        ListedThread("new", at(0), 1),
    ]
    plan = plan_thread_reads(listed, ledger, budget=4)
    assert plan.to_read == ("new", "changed-old", "old-unread-newer", "old-out-of-date")
    assert (plan.changed, plan.backlog, plan.left) == (2, 3, 1)
    assert plan.covers["changed-old"] == (("changed-old", 2),)


def test_a_night_where_every_listed_count_equals_its_read_count_and_no_backlog_reads_no_thread() -> None:
    ledger = ThreadLedger({"a": state(1, 3, 3), "b": state(2, 1, 1), "old": state(100, 7, 7)})
    listed = [ListedThread("a", at(1), 3), ListedThread("b", at(2), 1)]
    plan = plan_thread_reads(listed, ledger, budget=40)
    assert plan.to_read == ()
    assert (plan.changed, plan.backlog, plan.left) == (0, 0, 0)


def test_with_an_empty_ledger_the_plan_is_the_newest_listed_threads_within_the_budget() -> None:
    listed = [ListedThread(f"p{days}", at(days), 1) for days in range(10)]
    plan = plan_thread_reads(listed, ThreadLedger(), budget=3)
    assert plan.to_read == ("p0", "p1", "p2")
    assert plan.left == 7


def test_a_reply_of_the_account_inside_another_listed_thread_is_read_through_that_thread_only() -> None:
    listed = [
        ListedThread("root", at(3), 2),
        ListedThread("answer", at(2), 1, root_id="root"),
        ListedThread("elsewhere", at(1), 1, root_id="someone-elses-post"),
    ]
    plan = plan_thread_reads(listed, ThreadLedger(), budget=40)
    assert plan.to_read == ("elsewhere", "root")
    assert plan.covers["root"] == (("answer", 1), ("root", 2))


def test_a_new_reply_under_the_accounts_answer_makes_the_whole_thread_due_again() -> None:
    ledger = ThreadLedger({"root": state(3, 2, 2), "answer": state(2, 1, 1, root_id="root")})
    listed = [ListedThread("root", at(3), 2), ListedThread("answer", at(2), 2, root_id="root")]
    assert plan_thread_reads(listed, ledger, budget=40).to_read == ("root",)


def test_the_ledger_file_gives_back_what_earlier_run_dates_listed_and_read(tmp_path: Path) -> None:
    path = tmp_path / "thread-ledger.json"
    listed = [ListedThread(f"p{days}", at(days), 1 + days % 3) for days in range(5)]
    record(path, NIGHT, "first", listed, plan_thread_reads(listed, ThreadLedger(), budget=2))

    view = read_ledger(path, NIGHT + timedelta(days=1), never_quarantined)
    assert view.posts["p0"] == ThreadState(at(0), 1, 1, None)
    assert view.posts["p4"] == ThreadState(at(4), 2, None, None)
    # The night after: nothing changed, the backlog (p2, p3, p4) is read, newest first.
    tonight = listed[:2]
    assert plan_thread_reads(tonight, view, budget=2).to_read == ("p2", "p3")
    document = json.loads(path.read_text())
    assert document["version"] == 1 and "token" not in path.read_text().lower()


def test_a_run_date_replayed_plans_what_it_planned_the_first_time(tmp_path: Path) -> None:
    path = tmp_path / "thread-ledger.json"
    listed = [ListedThread(f"p{days}", at(days), 1) for days in range(3)]
    first = plan_thread_reads(listed, read_ledger(path, NIGHT, never_quarantined), budget=2)
    record(path, NIGHT, "first", listed, first)
    replayed = plan_thread_reads(listed, read_ledger(path, NIGHT, never_quarantined), budget=2)
    assert replayed == first
    record(path, NIGHT, "again", listed, replayed)  # replaces, not adds to, what that date recorded
    [entry] = [json.loads(path.read_text())["posts"]["p0"]["reads"]]
    assert entry == [[NIGHT.isoformat(), "again", 1]]


def test_a_read_by_an_extraction_later_quarantined_is_not_trusted_and_the_thread_is_read_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "thread-ledger.json"
    listed = [ListedThread("p0", at(0), 1), ListedThread("p1", at(1), 1)]
    record(path, NIGHT, "bad-batch", listed, plan_thread_reads(listed, ThreadLedger(), budget=40))
    tomorrow = NIGHT + timedelta(days=1)

    trusted = read_ledger(path, tomorrow, never_quarantined)
    assert plan_thread_reads(listed, trusted, budget=40).to_read == ()
    distrusted = read_ledger(path, tomorrow, lambda run_date, extraction: extraction == "bad-batch")
    assert distrusted.posts["p0"].read_count is None
    assert plan_thread_reads(listed, distrusted, budget=40).to_read == ("p0", "p1")


@pytest.mark.parametrize(
    "content",
    ['{"version": 1, "posts": {"p0": {"created_at": "yesterday"}}}', "{not json", "[]", '{"version": 99}'],
    ids=["bad-field", "not-json", "not-an-object", "other-version"],
)
def test_a_damaged_ledger_is_kept_aside_with_a_warning_naming_it_and_planned_as_empty(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str
) -> None:
    path = zones.thread_ledger_file(tmp_path, "mastodon", "org")
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with caplog.at_level(logging.WARNING):
        view = read_ledger(path, NIGHT, never_quarantined)
    assert view == ThreadLedger()
    assert str(path) in caplog.text and "damaged thread ledger" in caplog.text
    kept = path.with_name(f"{path.name}.damaged-1")
    assert kept.read_text() == content and not path.exists()
    # The next complete extraction writes a new ledger; the damaged one stays where it was kept.
    listed = [ListedThread("p0", at(0), 1)]
    record(path, NIGHT, "x", listed, plan_thread_reads(listed, view, budget=40))
    assert read_ledger(path, NIGHT + timedelta(days=1), never_quarantined).posts["p0"].read_count == 1
    assert kept.read_text() == content


def test_a_missing_ledger_is_an_empty_one_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert read_ledger(tmp_path / "none.json", NIGHT, never_quarantined) == ThreadLedger()
    assert caplog.text == ""


def test_the_report_names_the_oldest_post_read_for_the_refresh_of_old_weeks() -> None:
    ledger = ThreadLedger({"old": state(100, 2, None)})
    listed = [ListedThread("new", at(0), 1)]
    plan = plan_thread_reads(listed, ledger, budget=40)
    report = ThreadReport(listed=listed, plan=plan, read=["new", "old"])
    assert report.earliest_read() == at(100)
    assert report.summary()["earliest_read_created_at"] == "2026-08-08T09:00:00+00:00"
    assert report.summary()["read"] == 2 and report.summary()["left"] == 0


# -- what a read covered: a post its root's thread does not reach (issue 15) -------------------------

THREAD = [
    ListedThread("root", at(3), 2),
    ListedThread("answer", at(2), 1, root_id="root"),  # below a blocked post, or cut at the depth limit
]


def test_a_post_its_roots_thread_did_not_reach_is_read_on_its_own_the_same_night_when_the_budget_allows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "thread-ledger.json"
    plan = plan_thread_reads(THREAD, ThreadLedger(), budget=40)
    assert plan.to_read == ("root",)
    report = record(path, NIGHT, "first", THREAD, plan, unreached=frozenset({"answer"}))
    assert report.read == ["root", "answer"] and report.missed("root") == ["answer"]

    view = read_ledger(path, NIGHT + timedelta(days=1), never_quarantined)
    assert view.posts["answer"] == ThreadState(at(2), 1, 1, "root", is_detached=True)
    assert plan_thread_reads(THREAD, view, budget=40).to_read == ()


def test_a_post_its_roots_thread_did_not_reach_is_read_on_its_own_the_next_night_then_never_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "thread-ledger.json"
    first = record(
        path,
        NIGHT,
        "first",
        THREAD,
        plan_thread_reads(THREAD, ThreadLedger(), budget=1),
        frozenset({"answer"}),
    )
    assert first.read == ["root"]  # the budget is spent: the answer waits for the next night

    second_night = NIGHT + timedelta(days=1)
    plan = plan_thread_reads(THREAD, read_ledger(path, second_night, never_quarantined), budget=1)
    assert plan.to_read == ("answer",) and plan.covers["answer"] == (("answer", 1),)
    record(path, second_night, "second", THREAD, plan)

    third_night = second_night + timedelta(days=1)
    assert (
        plan_thread_reads(THREAD, read_ledger(path, third_night, never_quarantined), budget=1).to_read == ()
    )


def test_a_root_read_up_to_date_is_not_due_for_a_member_it_cannot_reach() -> None:
    ledger = ThreadLedger(
        {"root": state(3, 2, 2), "answer": ThreadState(at(2), 1, None, "root", is_detached=True)}
    )
    plan = plan_thread_reads(THREAD, ledger, budget=40)
    assert plan.to_read == ("answer",)
    # A new reply under the answer: the answer is read again, on its own, not through its root.
    ledger = ThreadLedger(
        {"root": state(3, 2, 2), "answer": ThreadState(at(2), 1, 1, "root", is_detached=True)}
    )
    tonight = [THREAD[0], ListedThread("answer", at(2), 2, root_id="root")]
    assert plan_thread_reads(tonight, ledger, budget=40).to_read == ("answer",)


def test_the_posts_inside_a_thread_whose_root_was_deleted_are_read_on_their_own() -> None:
    report = ThreadReport(listed=THREAD, plan=plan_thread_reads(THREAD, ThreadLedger(), budget=40))
    threads = report.threads_to_read()
    assert next(threads) == "root"
    report.add_read("root", None)  # deleted between the listing and the call: nothing left of it
    assert next(threads) == "answer"
    report.add_read("answer", ["answer"])
    assert list(threads) == []
    assert report.reads() == ["root", "answer"]


def test_a_miss_seen_by_an_extraction_later_quarantined_is_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "thread-ledger.json"
    record(
        path,
        NIGHT,
        "bad-batch",
        THREAD,
        plan_thread_reads(THREAD, ThreadLedger(), budget=1),
        frozenset({"answer"}),
    )
    distrusted = read_ledger(
        path, NIGHT + timedelta(days=1), lambda run_date, extraction: extraction == "bad-batch"
    )
    assert not distrusted.posts["answer"].is_detached
    assert plan_thread_reads(THREAD, distrusted, budget=40).to_read == ("root",)


def test_a_ledger_written_before_misses_were_recorded_is_read_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "thread-ledger.json"
    entry = {"created_at": at(2).isoformat(), "root_id": "root", "listings": [["2026-11-20", 1]], "reads": []}
    path.write_text(json.dumps({"version": 1, "posts": {"answer": entry}}))
    view = read_ledger(path, NIGHT, never_quarantined)
    assert view.posts["answer"] == ThreadState(at(2), 1, None, "root", is_detached=False)
