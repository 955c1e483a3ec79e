"""SQL for owner scopes: restrict a query to some accounts or some domains."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select

SelectT = TypeVar("SelectT", bound=Select[Any])


def restrict(
    query: SelectT,
    account_col: ColumnElement[Any],
    domain_col: ColumnElement[Any],
    account_ids: tuple[int, ...] | None,
    domain_ids: tuple[int, ...] | None,
) -> SelectT:
    if account_ids is not None:
        query = query.where(account_col.in_(account_ids))
    if domain_ids is not None:
        query = query.where(domain_col.in_(domain_ids))
    return query
