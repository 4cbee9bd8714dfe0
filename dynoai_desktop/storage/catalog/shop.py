"""The shop's work (schema 2): customers -> vehicles, each with its BuildSpec -> sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.catalog.connection import CatalogBase, text_value, time_value
from dynoai_desktop.storage.catalog.records import Customer, Session, Vehicle


class ShopMixin(CatalogBase):
    # ------------------------------------------------------------------ customers

    def add_customer(
        self,
        name: str,
        phone: str = "",
        email: str = "",
        notes: str = "",
        when: str | datetime | None = None,
    ) -> int:
        """Store a customer; returns the id. ``when`` defaults to now."""
        values = (
            text_value(name, "customer name", required=True).strip(),
            text_value(phone, "customer phone"),
            text_value(email, "customer email"),
            text_value(notes, "customer notes"),
            time_value(when, "customer created_at"),
        )
        return self._insert(
            "INSERT INTO customers (name, phone, email, notes, created_at) VALUES (?, ?, ?, ?, ?)",
            values,
        )

    def customers(self) -> list[Customer]:
        rows = self._db.execute(
            "SELECT id, name, phone, email, notes, created_at FROM customers ORDER BY id"
        ).fetchall()
        return [Customer(*row) for row in rows]

    def customer(self, customer_id: int) -> Customer:
        self._require("customers", customer_id, "customer")
        row = self._db.execute(
            "SELECT id, name, phone, email, notes, created_at FROM customers WHERE id = ?",
            (customer_id,),
        ).fetchone()
        return Customer(*row)

    # ------------------------------------------------------------------ vehicles

    def add_vehicle(
        self,
        customer_id: int,
        name: str,
        build_spec: BuildSpec,
        vin: str = "",
        when: str | datetime | None = None,
    ) -> int:
        """Store a customer's vehicle ("2016 Low Rider S") with its build; returns the id."""
        self._require("customers", customer_id, "customer")
        if not isinstance(build_spec, BuildSpec):
            raise InputError(
                f"vehicle {name!r}: build_spec must be a BuildSpec, got {type(build_spec).__name__}"
            )
        values = (
            customer_id,
            text_value(name, "vehicle name", required=True).strip(),
            text_value(vin, "vehicle VIN").strip(),
            build_spec.to_json(indent=None),
            time_value(when, "vehicle created_at"),
        )
        return self._insert(
            "INSERT INTO vehicles (customer_id, name, vin, build_spec_json, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            values,
        )

    def _vehicles(self, where: str, params: Sequence[object]) -> list[Vehicle]:
        rows = self._db.execute(
            "SELECT id, customer_id, name, vin, build_spec_json, created_at FROM vehicles"
            f" WHERE {where} ORDER BY id",
            params,
        ).fetchall()
        return [
            Vehicle(vid, cid, name, vin, BuildSpec.from_json(spec, source=f"vehicle {vid}"), at)
            for vid, cid, name, vin, spec, at in rows
        ]

    def vehicles(self, customer_id: int) -> list[Vehicle]:
        """The customer's vehicles, oldest first."""
        self._require("customers", customer_id, "customer")
        return self._vehicles("customer_id = ?", (customer_id,))

    def all_vehicles(self) -> list[Vehicle]:
        """Every customer's vehicles, oldest first (one query)."""
        return self._vehicles("1 = 1", ())

    def vehicle(self, vehicle_id: int) -> Vehicle:
        self._require("vehicles", vehicle_id, "vehicle")
        return self._vehicles("id = ?", (vehicle_id,))[0]

    # ------------------------------------------------------------------ sessions

    def start_session(
        self,
        vehicle_id: int,
        when: str | datetime,
        operator: str = "",
        notes: str = "",
        tune_id: int | None = None,
    ) -> int:
        """Open a session for the vehicle (optionally on a stored tune); returns its id."""
        self._require("vehicles", vehicle_id, "vehicle")
        if tune_id is not None:
            self._require("tunes", tune_id, "tune")
        values = (
            vehicle_id,
            time_value(when, "session started_at"),
            text_value(operator, "session operator"),
            text_value(notes, "session notes"),
            tune_id,
        )
        return self._insert(
            "INSERT INTO sessions (vehicle_id, started_at, operator, notes, tune_id)"
            " VALUES (?, ?, ?, ?, ?)",
            values,
        )

    def set_session_tune(self, session_id: int, tune_id: int) -> None:
        """Say the session runs on the stored tune ``tune_id`` (a session started without one
        gets it when its first run records)."""
        self._require("sessions", session_id, "session")
        self._require("tunes", tune_id, "tune")
        with self._db:
            self._db.execute("UPDATE sessions SET tune_id = ? WHERE id = ?", (tune_id, session_id))

    def set_session_notes(self, session_id: int, notes: str) -> None:
        """Replace the session's notes (the tuner's notes its customer sheet prints)."""
        self._require("sessions", session_id, "session")
        with self._db:
            self._db.execute("UPDATE sessions SET notes = ? WHERE id = ?",
                             (text_value(notes, "session notes"), session_id))

    def end_session(self, session_id: int, when: str | datetime) -> None:
        self._require("sessions", session_id, "session")
        with self._db:
            self._db.execute(
                "UPDATE sessions SET ended_at = ? WHERE id = ?",
                (time_value(when, "session ended_at"), session_id),
            )

    def _sessions(self, where: str, params: Sequence[object]) -> list[Session]:
        rows = self._db.execute(
            "SELECT id, vehicle_id, started_at, ended_at, operator, notes, tune_id FROM sessions"
            f" WHERE {where} ORDER BY started_at, id",
            params,
        ).fetchall()
        return [Session(*row) for row in rows]

    def sessions(self, vehicle_id: int) -> list[Session]:
        """The vehicle's sessions, oldest first."""
        self._require("vehicles", vehicle_id, "vehicle")
        return self._sessions("vehicle_id = ?", (vehicle_id,))

    def all_sessions(self) -> list[Session]:
        """Every vehicle's sessions, oldest first (one query)."""
        return self._sessions("1 = 1", ())

    def session(self, session_id: int) -> Session:
        self._require("sessions", session_id, "session")
        return self._sessions("id = ?", (session_id,))[0]
