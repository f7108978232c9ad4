"""The stack identity guard: the database and /mnt/koji must belong to the same stack.

The bootstrap keeps one UUID in the database (table kojistack_meta) and in /mnt/koji/.kojistack-id.
It refuses to go on when they disagree, or when one side has no identity while the other holds
data (a replaced, empty database over a full file system, or the reverse).
"""

from __future__ import annotations

from typing import NamedTuple


class IdentityError(Exception):
    """The database and the file system do not belong together; the message says what to do."""


class Decision(NamedTuple):
    stack_id: str
    write_db: bool
    write_fs: bool


def decide(db_id: str | None, fs_id: str | None, db_has_data: bool, fs_has_data: bool,
           new_id: str) -> Decision:
    """What to write, or IdentityError. Empty strings count as missing."""
    db_id, fs_id = (db_id or None), (fs_id or None)
    if db_id and fs_id:
        if db_id != fs_id:
            raise IdentityError(
                f"the database belongs to stack identity {db_id} but /mnt/koji to {fs_id}: "
                "they come from different deployments; restore a matching database snapshot "
                "or file system (docs/operations.md)")
        return Decision(db_id, False, False)
    if db_id:
        if fs_has_data:
            raise IdentityError(
                f"the database has stack identity {db_id} but /mnt/koji holds data and no "
                "identity file: refusing to mix them")
        return Decision(db_id, False, True)
    if fs_id:
        raise IdentityError(
            f"/mnt/koji belongs to stack identity {fs_id} but the database has none"
            + (" and holds koji data" if db_has_data else " (a new, empty database?)")
            + ": restore the database snapshot that goes with this file system")
    if db_has_data or fs_has_data:
        where = " and ".join(n for n, has in (("the database", db_has_data),
                                                ("/mnt/koji", fs_has_data)) if has)
        raise IdentityError(f"{where} hold(s) koji data but no stack identity: refusing to adopt "
                            "data this stack did not create")
    return Decision(new_id, True, True)
