"""Look-ups as Block Kit: a customer's intelligence, the picker when several customers match, my
items and what I handed over — in an ephemeral message (50 blocks) or the look-up modal (100).

What does not fit is paged: each page repeats the head (who, what, and how much is withheld) and
ends with "Page k of n" and a *More* button carrying a small typed :class:`LookupRef`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, InputBlock, PlainTextInputElement, SectionBlock
from slack_sdk.models.views import View

from bot import texts
from bot.config import Config
from bot.flows.lookup import MATCHES, CustomerLookup, Intelligence, MyItems, SentItems, Thread
from bot.ids import ActionId, CallbackId, Category, ItemStatus, LookupRef
from bot.models import Item
from bot.slack import blocks as b

QUERY_BLOCK = "query"
TITLE = "title:"  # block ids of section titles (kept with what follows them when paging)


def say(macro: str, **values: Any) -> str:
    return texts.say("lookup.j2", macro, **values)


@dataclass
class Page:
    text: str  # the notification / fallback text
    blocks: list[dict[str, Any]]
    page: int  # 0-based
    pages: int


# ----- paging -----------------------------------------------------------------------------------


def _chunks(entries: list[Block], room: int) -> list[list[Block]]:
    pages: list[list[Block]] = []
    current: list[Block] = []
    for entry in entries:
        if len(current) >= room:
            carry: list[Block] = []
            while len(current) > 1 and (getattr(current[-1], "block_id", None) or "").startswith(TITLE):
                carry.insert(0, current.pop())  # never end a page on a title
            pages.append(current)
            current = carry
        current.append(entry)
    if current or not pages:
        pages.append(current)
    return pages


def paginate(text: str, head: list[Block], entries: list[Block], ref: LookupRef, *, budget: int) -> Page:
    """Page ``ref.p`` of ``head`` + ``entries`` within ``budget`` blocks."""
    if len(head) + len(entries) <= budget:
        return Page(text, b.to_dicts([*head, *entries], limit=budget), 0, 1)
    room = max(budget - len(head) - 2, 1)  # the footer: "Page k of n" and More
    pages = _chunks(entries, room)
    page = min(ref.p, len(pages) - 1)
    footer: list[Block] = [b.context(say("page_of", page=page + 1, pages=len(pages)), block_id="page")]
    if page + 1 < len(pages):
        nxt = ref.model_copy(update={"p": page + 1})
        footer.append(
            ActionsBlock(block_id="paging", elements=[b.button(say("more"), ActionId.LOOKUP_MORE, nxt.dump())])
        )
    return Page(text, b.to_dicts([*head, *pages[page], *footer], limit=budget), page, len(pages))


def _title(key: str, text: str) -> SectionBlock:
    return b.section(text, block_id=TITLE + key)


# ----- one item -----------------------------------------------------------------------------


def item_block(config: Config, item: Item, *, customer: str | None = None, prefix: str = "item") -> SectionBlock:
    reason = config.discard_reason(item.discard_reason).label if item.discard_reason else ""
    return b.section(
        say(
            "item_line",
            item=item,
            category=config.category(Category(item.category)).label,
            customer=customer,
            reason=reason,
        ),
        block_id=f"{prefix}:{item.id}",
    )


def _thread_block(thread: Thread) -> SectionBlock:
    return b.section(
        say("question_line", question=thread.question, answers=thread.answers),
        block_id=f"question:{thread.question.id}",
    )


# ----- a customer ---------------------------------------------------------------------------


def customer_page(config: Config, found: CustomerLookup, page: int = 0, *, budget: int = b.MESSAGE_BLOCKS) -> Page:
    """What a look-up answers: nothing found, the picker, or the customer's intelligence."""
    if not found.matches:
        text = say("not_found", query=found.query)
        return Page(text, b.to_dicts([b.section(text)]), 0, 1)
    if found.intel is None:
        return picker(found, budget=budget)
    return intelligence_page(
        config,
        found.intel,
        LookupRef(k="customer", q=found.query[:200], c=found.intel.customer.id, p=page),
        budget=budget,
    )


def picker(found: CustomerLookup, *, budget: int = b.MESSAGE_BLOCKS) -> Page:
    text = say("choose", query=found.query, count=len(found.matches))
    blocks: list[Block] = [b.section(text)]
    for m in found.matches[: budget - 2]:
        ref = LookupRef(k="customer", q=found.query[:200], c=m.customer.id)
        blocks.append(
            b.section(
                say("match", customer=m.customer, why=m.why),
                block_id=f"match:{m.customer.id}",
                accessory=b.button(say("pick"), ActionId.LOOKUP_PICK, ref.dump()),
            )
        )
    if len(found.matches) >= MATCHES:
        blocks.append(b.context(say("choose_more", limit=MATCHES)))
    return Page(text, b.to_dicts(blocks, limit=budget), 0, 1)


def intelligence_page(config: Config, intel: Intelligence, ref: LookupRef, *, budget: int = b.MESSAGE_BLOCKS) -> Page:
    c = intel.customer
    text = say(
        "customer_summary",
        name=c.name,
        open=len(intel.open_items),
        past=len(intel.past_items),
        requests=len(intel.open_requests),
    )
    head: list[Block] = [
        b.header(say("customer_title", name=c.name)),
        b.context(say("customer_facts", customer=c, owner=c.account_owner_email)),
        b.section(text, block_id="summary"),
    ]
    if intel.withheld:
        head.append(
            b.section(say("customer_withheld", count=intel.withheld, name=c.name, ask=intel.ask), block_id="withheld")
        )
    entries: list[Block] = []
    if intel.open_items:
        entries += [
            _title("open", say("open_title", count=len(intel.open_items))),
            *[item_block(config, i) for i in intel.open_items],
        ]
    if intel.past_items:
        entries += [
            _title("past", say("past_title", count=len(intel.past_items))),
            *[item_block(config, i) for i in intel.past_items],
        ]
    if intel.open_requests:
        entries += [
            _title("requests", say("requests_title", count=len(intel.open_requests))),
            *[b.section(say("request_line", item=i), block_id=f"request:{i.id}") for i in intel.open_requests],
        ]
    if intel.questions:
        entries += [
            _title("questions", say("questions_title", count=len(intel.questions))),
            *[_thread_block(t) for t in intel.questions],
        ]
    if intel.follow_ups:
        words = {k: texts.say("decisions.j2", "follow_up_kind", kind=k) for k in {f.kind for f, _ in intel.follow_ups}}
        lines = "\n".join(say("follow_up_line", follow_up=f, words=words[f.kind]) for f, _ in intel.follow_ups)
        entries += [
            _title("follow_ups", say("follow_ups_title", count=len(intel.follow_ups))),
            b.section(lines, block_id="follow_ups"),
        ]
    if not entries:
        entries = [b.section(say("nothing_visible" if intel.withheld else "nothing_at_all", name=c.name))]
    return paginate(text, head, entries, ref, budget=budget)


# ----- mine and sent ------------------------------------------------------------------------


def _withheld(count: int, ask: list) -> list[Block]:
    return [b.section(say("list_withheld", count=count, ask=ask), block_id="withheld")] if count else []


def mine_page(config: Config, mine: MyItems, page: int = 0, *, budget: int = b.MESSAGE_BLOCKS) -> Page:
    text = say(
        "mine_summary",
        decide=len(mine.to_decide),
        owned=len(mine.owned),
        responsible=len(mine.responsible),
        asked=len(mine.asked),
    )
    head: list[Block] = [b.section(text, block_id="summary"), *_withheld(mine.withheld, mine.ask)]
    names = mine.customer_names
    entries: list[Block] = []
    for key, macro, items in (
        ("decide", "decide_title", mine.to_decide),
        ("owned", "owned_title", mine.owned),
        ("responsible", "responsible_title", mine.responsible),
    ):
        if items:
            entries += [
                _title(key, say(macro, count=len(items))),
                *[item_block(config, i, customer=names.get(i.customer_id)) for i in items],
            ]
    if mine.asked:
        entries += [_title("asked", say("asked_title", count=len(mine.asked))), *[_thread_block(t) for t in mine.asked]]
    if not entries:
        entries = [b.section(say("mine_empty"))]
    return paginate(text, head, entries, LookupRef(k="mine", q="mine", p=page), budget=budget)


def sent_page(config: Config, sent: SentItems, page: int = 0, *, budget: int = b.MESSAGE_BLOCKS) -> Page:
    count = {s: sum(1 for i in sent.items if i.status == s) for s in ItemStatus}
    text = say(
        "sent_summary",
        count=len(sent.items),
        accepted=count[ItemStatus.ACCEPTED],
        pending=count[ItemStatus.PENDING],
        discarded=count[ItemStatus.DISCARDED],
        closed=count[ItemStatus.CLOSED],
    )
    head: list[Block] = [b.section(text, block_id="summary"), *_withheld(sent.withheld, sent.ask)]
    entries: list[Block] = [item_block(config, i, customer=sent.customer_names.get(i.customer_id)) for i in sent.items]
    if not entries:
        entries = [b.section(say("sent_empty"))]
    return paginate(text, head, entries, LookupRef(k="sent", q="sent", p=page), budget=budget)


# ----- the modal ------------------------------------------------------------------------------


def modal(query: str = "", page: Page | None = None) -> dict[str, Any]:
    """The look-up modal: the search field, and below it the answer to the last search."""
    search = InputBlock(
        block_id=QUERY_BLOCK,
        label=b.plain(say("modal_search"), 2000),
        hint=b.plain(say("modal_hint"), 2000),
        element=PlainTextInputElement(
            action_id=ActionId.INPUT, max_length=500, initial_value=b.clip(query, 500) or None
        ),
    )
    view = View(
        type="modal",
        callback_id=CallbackId.LOOKUP,
        title=b.plain(say("modal_title"), b.MODAL_TITLE),
        submit=b.plain(say("modal_submit"), b.MODAL_TITLE),
        close=b.plain(say("modal_close"), b.MODAL_TITLE),
        blocks=[search],
    )
    out = view.to_dict()
    out["blocks"] = [*out["blocks"], *(page.blocks if page else [])][: b.VIEW_BLOCKS]
    return out


MODAL_BUDGET = b.VIEW_BLOCKS - 1  # the search field takes one block
