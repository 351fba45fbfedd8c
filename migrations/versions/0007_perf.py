"""perf: indexes for the per-person queries (digest, App Home, look-ups): e-mails as compared
(lower case), the Slack user ids of senders and Business Builders, outbox rows by channel

Revision ID: 0007_perf
Revises: 0004_identity
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_perf"
down_revision = "0006_webhooks"
branch_labels = None
depends_on = None

# (index name, table, expression): expressions match bot.models.names_person's lower(column) = ?
INDEXES = [
    ("ix_item_receiver_email_lower", "item", "lower(receiver_email)"),
    ("ix_item_sender_email_lower", "item", "lower(sender_email)"),
    ("ix_item_sender_user_id", "item", "sender_user_id"),
    ("ix_item_business_builder_email_lower", "item", "lower(business_builder_email)"),
    ("ix_item_business_builder_user_id", "item", "business_builder_user_id"),
    ("ix_item_contact_email_lower", "item", "lower(contact_email)"),
    ("ix_person_email_lower", "person", "lower(email)"),
    ("ix_outbox_channel_key", "outbox", "channel_key"),  # a person's pending App Home refresh (coalescing)
]


def upgrade() -> None:
    for name, table, expression in INDEXES:
        op.create_index(name, table, [sa.text(expression)])


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
