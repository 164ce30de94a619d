"""The fake post keeps bounded state, however long a test or the demo drives it."""

from __future__ import annotations

from connectors.postal.fake_server import MAX_FAULTS, MAX_KEPT, MAX_TOKENS, PostOffice


def _order(number: str) -> dict[str, str]:
    return {"OrderNumber": number, "SenderTel": "0293387001", "ReceiverTel": "0912345678"}


def test_orders_cancels_documents_tokens_and_faults_are_capped() -> None:
    office = PostOffice()
    office.create(_order("first/KQ"))
    office.cancel("first/KQ")
    for n in range(MAX_KEPT + 5):
        office.create(_order(f"A-{n}/KQ"))
        office.add_document({"OrderNumber": f"A-{n}/KQ"})
    for _ in range(MAX_TOKENS + 5):
        office.issue_token()
    for _ in range(MAX_FAULTS + 5):
        office.fail(503)
    assert len(office.orders) == MAX_KEPT
    assert "first/KQ" not in office.orders
    assert office.cancelled == set()
    assert len(office.documents) == MAX_KEPT
    assert len(office.issued) == MAX_TOKENS
    assert sum(1 for _ in iter(lambda: office.take_fault("order"), None)) == MAX_FAULTS


def test_a_known_order_answers_101_and_is_not_applied_again() -> None:
    office = PostOffice()
    assert office.create(_order("A-1/KQ")) == ("100", "Thành công", True)
    assert office.create(_order("A-1/KQ")) == ("101", "Đơn hàng đã tồn tại", False)
