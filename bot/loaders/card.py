"""The item card's data: the item, its customer, its open question and the people it names."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.models import Customer, Item, Person, Question


@dataclass
class CardData:
    item: Item
    customer: Customer
    open_question: Question | None
    business_builder_user: str | None
    receiver_user: str | None


def load(session: Session, item_id: int | None) -> CardData | None:
    item = session.get(Item, item_id)
    if item is None:
        return None
    customer = item.customer
    question = session.exec(
        select(Question)
        .where(Question.item_id == item_id, Question.open == True)  # noqa: E712
        .order_by(col(Question.id).desc())
    ).first()
    bb = None
    if item.business_builder_email:
        person = session.exec(select(Person).where(Person.email == item.business_builder_email)).first()
        bb = person.slack_user_id if person and person.active else None
    return CardData(
        item=item,
        customer=customer,
        open_question=question,
        business_builder_user=bb,
        receiver_user=item.receiver_user_id,
    )
