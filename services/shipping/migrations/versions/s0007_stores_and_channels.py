"""stores and channels

A shop binds any number of marketplace stores (channel + seller id + authorisation); every order says the
channel it came from (``own`` for the shop's own orders, created over REST) and, for a marketplace order,
its store. The shop's one Taobao binding (``shop_settings.seller_nick`` and ``session``) becomes its first
store, and the orders it received become that store's; orders created over REST become ``own`` (until now
they were sent to Taobao at shipping time, which refused them). Message ids are unique per channel.

Revision ID: s0007
Revises: s0006
Create Date: 2026-12-07 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0007"
down_revision: str | None = "s0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stores",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("shop_id", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("seller_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column("token", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("channel IN ('taobao', 'pinduoduo')", name=op.f("ck_stores_channel")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stores")),
        sa.UniqueConstraint("channel", "seller_id", name=op.f("uq_stores_channel_seller_id")),
        schema="shipping",
    )
    op.create_index("ix_stores_shop", "stores", ["shop_id", "created_at"], unique=False, schema="shipping")
    # The one Taobao binding of each shop, as its first store (the id derived from the shop: stable, unique).
    op.execute(
        """
        INSERT INTO shipping.stores (id, shop_id, channel, seller_id, name, token, created_at, updated_at)
        SELECT 'sto_' || substr(md5('taobao:' || shop_id), 1, 20), shop_id, 'taobao', seller_nick, seller_nick,
               session, updated_at, updated_at
          FROM shipping.shop_settings WHERE seller_nick IS NOT NULL
        """
    )
    op.add_column("orders", sa.Column("channel", sa.Text(), server_default="own", nullable=False), schema="shipping")
    op.add_column("orders", sa.Column("store_id", sa.Text(), nullable=True), schema="shipping")
    op.execute(
        """
        UPDATE shipping.orders o SET channel = 'taobao', store_id = s.id
          FROM shipping.stores s WHERE o.source = 'marketplace' AND s.shop_id = o.shop_id AND s.channel = 'taobao'
        """
    )
    # A marketplace order whose shop has no binding any more cannot be confirmed anywhere: it stays what it
    # was sent as, on a store kept (inactive) for it.
    op.execute(
        """
        INSERT INTO shipping.stores (id, shop_id, channel, seller_id, name, active)
        SELECT DISTINCT 'sto_' || substr(md5('taobao:' || shop_id), 1, 20), shop_id, 'taobao',
               'unbound:' || shop_id, '', false
          FROM shipping.orders WHERE source = 'marketplace' AND store_id IS NULL
        """
    )
    op.execute(
        """
        UPDATE shipping.orders SET channel = 'taobao', store_id = 'sto_' || substr(md5('taobao:' || shop_id), 1, 20)
         WHERE source = 'marketplace' AND store_id IS NULL
        """
    )
    op.create_foreign_key(
        op.f("fk_orders_store_id_stores"),
        "orders",
        "stores",
        ["store_id"],
        ["id"],
        source_schema="shipping",
        referent_schema="shipping",
    )
    op.create_check_constraint(
        op.f("ck_orders_channel"), "orders", "channel IN ('own', 'taobao', 'pinduoduo')", schema="shipping"
    )
    op.create_check_constraint(
        op.f("ck_orders_store"), "orders", "(channel = 'own') = (store_id IS NULL)", schema="shipping"
    )
    op.drop_constraint("uq_shop_settings_seller_nick", "shop_settings", schema="shipping", type_="unique")
    op.drop_column("shop_settings", "seller_nick", schema="shipping")
    op.drop_column("shop_settings", "session", schema="shipping")

    op.add_column(
        "marketplace_messages",
        sa.Column("channel", sa.Text(), server_default="taobao", nullable=False),
        schema="shipping",
    )
    op.alter_column("marketplace_messages", "user_nick", new_column_name="seller_id", schema="shipping")
    op.drop_constraint("pk_marketplace_messages", "marketplace_messages", schema="shipping", type_="primary")
    op.create_primary_key(op.f("pk_marketplace_messages"), "marketplace_messages", ["channel", "id"], schema="shipping")


def downgrade() -> None:
    op.drop_constraint(op.f("pk_marketplace_messages"), "marketplace_messages", schema="shipping", type_="primary")
    op.execute("DELETE FROM shipping.marketplace_messages WHERE channel <> 'taobao'")
    op.create_primary_key(op.f("pk_marketplace_messages"), "marketplace_messages", ["id"], schema="shipping")
    op.alter_column("marketplace_messages", "seller_id", new_column_name="user_nick", schema="shipping")
    op.drop_column("marketplace_messages", "channel", schema="shipping")
    op.add_column("shop_settings", sa.Column("seller_nick", sa.Text(), nullable=True), schema="shipping")
    op.add_column("shop_settings", sa.Column("session", sa.Text(), nullable=True), schema="shipping")
    op.create_unique_constraint(
        op.f("uq_shop_settings_seller_nick"), "shop_settings", ["seller_nick"], schema="shipping"
    )
    # Each shop's oldest active Taobao store becomes its one binding again; other stores are dropped.
    op.execute(
        """
        INSERT INTO shipping.shop_settings (shop_id, seller_nick, session)
        SELECT DISTINCT ON (shop_id) shop_id, seller_id, token FROM shipping.stores
         WHERE channel = 'taobao' AND active ORDER BY shop_id, created_at
        ON CONFLICT (shop_id) DO UPDATE SET seller_nick = EXCLUDED.seller_nick, session = EXCLUDED.session
        """
    )
    op.drop_constraint(op.f("ck_orders_store"), "orders", schema="shipping", type_="check")
    op.drop_constraint(op.f("ck_orders_channel"), "orders", schema="shipping", type_="check")
    op.drop_constraint(op.f("fk_orders_store_id_stores"), "orders", schema="shipping", type_="foreignkey")
    op.drop_column("orders", "store_id", schema="shipping")
    op.drop_column("orders", "channel", schema="shipping")
    op.drop_index("ix_stores_shop", table_name="stores", schema="shipping")
    op.drop_table("stores", schema="shipping")
