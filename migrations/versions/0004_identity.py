"""customer identity: the item's own account owner, the customer audit trail, names and domains
recomputed by the Public Suffix List and the any-script normalization

Revision ID: 0004_identity
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004_identity"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("item") as batch:
        batch.add_column(sa.Column("account_owner_email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True))
    op.create_table(
        "customer_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_customer_event_customer_id"), "customer_event", ["customer_id"], unique=False)
    op.create_table(
        "customer_alias",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("domain", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("normalized_name", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_customer_alias_customer_id"), "customer_alias", ["customer_id"], unique=False)
    op.create_index(op.f("ix_customer_alias_domain"), "customer_alias", ["domain"], unique=False)
    op.create_index(op.f("ix_customer_alias_normalized_name"), "customer_alias", ["normalized_name"], unique=False)
    # Existing customers: the name key in its own script (it was ASCII only, so every Japanese,
    # Cyrillic or Arabic name was ""), and the domain by the Public Suffix List ("co.uk" and
    # free-mail domains identify nobody). Customers already merged wrongly are split by an admin
    # (`handover customers split`); nothing is moved here.
    from bot.customers import normalize_name, root_domain

    bind = op.get_bind()
    customer = sa.table(
        "customer",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("normalized_name", sa.String),
        sa.column("domain", sa.String),
    )
    for row in bind.execute(sa.select(customer.c.id, customer.c.name, customer.c.domain)).all():
        bind.execute(
            customer.update()
            .where(customer.c.id == row.id)
            .values(
                normalized_name=normalize_name(row.name or ""), domain=root_domain(row.domain) if row.domain else None
            )
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_customer_alias_normalized_name"), table_name="customer_alias")
    op.drop_index(op.f("ix_customer_alias_domain"), table_name="customer_alias")
    op.drop_index(op.f("ix_customer_alias_customer_id"), table_name="customer_alias")
    op.drop_table("customer_alias")
    op.drop_index(op.f("ix_customer_event_customer_id"), table_name="customer_event")
    op.drop_table("customer_event")
    with op.batch_alter_table("item") as batch:
        batch.drop_column("account_owner_email")
