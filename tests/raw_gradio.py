"""Drive the page's Gradio events over raw HTTP, as a hostile client would: no browser, any payload.

Events are found the way an attacker finds them, from the public `/config`: by the element id of
the component that triggers them and the trigger's name (e.g. `("composer", "submit")`), and
inputs are given by element id, everything else sent as null.

    page = RawPage(server.url)          # an anonymous browser of its own (its own cookie)
    page.trigger("page", "load")
    chat = page.trigger("composer", "submit", composer={"text": "hi", "files": [...]})["chatbot"]
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import httpx

PAGE = "page"  # the pseudo element id of the Blocks themselves (the `load` event)


class EventFailed(Exception):
    """The event ended with an error; str() is what the page would show."""


class RawPage:
    def __init__(self, url: str, client: httpx.Client | None = None):
        self.http = client or httpx.Client(base_url=url, timeout=60)
        self.http.get("/")  # the browser id cookie, as a page load gets it
        self.config = self.http.get("/config").json()
        self.session_hash = secrets.token_hex(6)
        self.notices: list[str] = []  # warnings and infos the page would show as toasts
        self._ids = {
            c["props"].get("elem_id"): c["id"]
            for c in self.config["components"]
            if c["props"].get("elem_id")
        }
        self._ids[PAGE] = 0

    @classmethod
    def logged_in(cls, url: str, user: str, password: str) -> RawPage:
        client = httpx.Client(base_url=url, timeout=60)
        response = client.post("/login", data={"username": user, "password": password})
        response.raise_for_status()
        return cls(url, client)

    def component_id(self, elem_id: str) -> int:
        return self._ids[elem_id]

    def dependency(self, elem_id: str, event: str) -> dict:
        target = [self._ids[elem_id], event]
        for dependency in self.config["dependencies"]:
            if target in dependency["targets"] and dependency.get("backend_fn", True):
                return dependency
        raise KeyError(f"no {event} event on #{elem_id}")

    def upload(self, path: Path) -> dict:
        """Upload through Gradio's route, as the page does; returns the composer's file entry."""
        with path.open("rb") as handle:
            response = self.http.post("/gradio_api/upload", files={"files": (path.name, handle)})
        response.raise_for_status()
        (stored,) = response.json()
        return {"path": stored, "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}

    def trigger(
        self, elem_id: str, event: str, event_data: Any = None, **values: Any
    ) -> dict[str | int, Any]:
        """Run the event with the given input values (by element id; the rest null) and event
        data (what a custom event such as a sidebar row's click carries) and return its last
        outputs by element id (by component id for those without one): the value a component
        shows, and under "<id>:props" any other properties an update set; raises EventFailed
        with the page's error text."""
        dependency = self.dependency(elem_id, event)
        by_id = {self._ids[name]: value for name, value in values.items()}
        names = {component: name for name, component in self._ids.items()}
        results: dict[str | int, Any] = {}
        chain = [dependency]
        while chain:  # the event, then what the page runs after it (`.then`), as a browser does
            current = chain.pop(0)
            data = [by_id.get(component) for component in current["inputs"]]
            outputs = self.call(
                current["id"], data, trigger_id=self._ids[elem_id], event_data=event_data
            )
            for component, value in zip(current["outputs"], outputs, strict=False):
                name = names.get(component, component)
                if isinstance(value, dict) and value.get("__type__") == "update":
                    props = {k: v for k, v in value.items() if k not in ("__type__", "value")}
                    if props:  # its other properties (choices, visibility...), kept apart
                        results[f"{name}:props"] = props
                    if "value" not in value:
                        continue
                    value = value["value"]  # what the component now shows
                results[name] = value
            chain += [
                d
                for d in self.config["dependencies"]
                if d.get("trigger_after") == current["id"] and d.get("backend_fn", True)
            ]
        return results

    def call(
        self,
        fn_index: int,
        data: list[Any],
        trigger_id: int | None = None,
        event_data: Any = None,
    ) -> list[Any]:
        body = {
            "data": data,
            "fn_index": fn_index,
            "trigger_id": trigger_id,
            "session_hash": self.session_hash,
            "event_data": event_data,
        }
        joined = self.http.post("/gradio_api/queue/join", json=body)
        joined.raise_for_status()
        event_id = joined.json()["event_id"]
        outputs: list[Any] = []
        with self.http.stream(
            "GET", "/gradio_api/queue/data", params={"session_hash": self.session_hash}
        ) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data: "):
                    continue
                message = json.loads(line[6:])
                if message.get("event_id") not in (event_id, None):
                    continue
                if message.get("msg") == "log":
                    self.notices.append(str(message.get("log")))
                if message.get("msg") == "process_generating":
                    outputs = message["output"].get("data") or outputs
                if message.get("msg") == "process_completed":
                    output = message.get("output") or {}
                    if not message.get("success", True) or "error" in output:
                        raise EventFailed(str(output.get("error")))
                    return output.get("data") or outputs
                if message.get("msg") == "close_stream":
                    break
        return outputs
