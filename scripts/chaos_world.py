"""The busy world `make chaos` lets loose on the API: a shop backend that creates orders and
posts payments, partial payments, cancellations, new phones and duplicates, often several at
the same instant; and robot managers who answer their tasks, two of them sometimes racing for
one pool task. Every request goes through real HTTP, many in flight; each one's final answer
is kept as a `Call` for the checks."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from scripts.chaos_facts import Call

# How long the backend keeps retrying one request (a 503 or a lost connection) before it
# gives up on an answer: longer than a Temporal restart and a worker's activity timeout.
PATIENCE = 120.0
RETRY_PAUSE = 0.5
# Other 5xx answers are broken already; a few retries tell a passing clash from a dead route.
SERVER_ERROR_RETRIES = 3


class Api:
    """The HTTP API as a shop backend uses it: a 5xx answer or a lost connection is retried
    with the same body (the event id makes that safe); every answer is tallied."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.calls: list[Call] = []
        self.statuses: Counter[int] = Counter()
        self.server_errors: list[str] = []  # every 5xx answer but a 503
        self.lost = 0  # connection errors and timeouts

    async def send(
        self, method: str, url: str, headers: dict[str, str], body: Any = None, retry: bool = True
    ) -> httpx.Response | None:
        deadline = time.monotonic() + PATIENCE
        server_errors = 0
        while True:
            try:
                response = await self.http.request(method, url, headers=headers, json=body)
            except httpx.TransportError:
                self.lost += 1
            else:
                self.statuses[response.status_code] += 1
                if response.status_code < 500:
                    return response
                if response.status_code != 503:
                    server_errors += 1
                    self.server_errors.append(
                        f"{method} {url} {response.status_code} {response.text[:120]!r}"
                    )
            if not retry or time.monotonic() > deadline or server_errors > SERVER_ERROR_RETRIES:
                return None
            await asyncio.sleep(RETRY_PAUSE)

    async def call(
        self, call: Call, method: str, url: str, headers: dict[str, str], body: Any
    ) -> Call:
        """Send one logical request until it has a final answer, and keep it in the ledger."""
        response = await self.send(method, url, headers, body)
        call.finished = time.time()
        if response is not None:
            call.status = response.status_code
            if response.is_success and call.event_id is not None:
                call.duplicate = bool(response.json().get("duplicate"))
        self.calls.append(call)
        return call


@dataclass(frozen=True)
class OrderSpec:
    id: str
    amount: Decimal
    phone: str | None
    email: str
    plan: str
    seed: int  # for the order's own pauses and parts: a run's seed replays every order

    def body(self) -> dict[str, Any]:
        customer: dict[str, Any] = {"name": f"Customer {self.id}", "email": self.email}
        if self.phone is not None:
            customer["phone"] = self.phone
        return {
            "id": self.id,
            "product": {"id": "course-python", "name": "Python for analysts"},
            "amount": str(self.amount),
            "currency": "RUB",
            "customer": customer,
        }


def make_orders(count: int, rng: random.Random) -> list[OrderSpec]:
    """Orders with and without phones, amounts with cents, and what the backend will do."""
    orders = []
    for n in range(count):
        phone = f"+7900{n:07d}" if rng.random() < 0.6 else None
        plans = [name for name in PLANS if phone is None or name != "phone_later"]
        orders.append(
            OrderSpec(
                id=f"C{n:05d}",
                amount=Decimal(rng.randrange(10_000, 1_000_000)) / 100,
                phone=phone,
                email=f"chaos-{n}@example.com",
                plan=rng.choices(plans, weights=[PLANS[p][1] for p in plans])[0],
                seed=rng.randrange(2**32),
            )
        )
    return orders


def split(amount: Decimal, parts: int, rng: random.Random) -> list[Decimal]:
    """`parts` positive amounts with cents that add up to `amount` exactly."""
    cents = int(amount * 100)
    cuts = sorted(rng.sample(range(1, cents), parts - 1))
    bounds = [0, *cuts, cents]
    return [Decimal(b - a) / 100 for a, b in zip(bounds, bounds[1:], strict=False)]


Plan = Callable[["Backend", OrderSpec, random.Random], Awaitable[None]]
P = TypeVar("P", bound=Plan)
# name -> (plan, weight), in the order the plans are written.
PLANS: dict[str, tuple[Plan, int]] = {}


def plan(weight: int) -> Callable[[P], P]:
    """Makes a Backend method a plan, given to orders in proportion to `weight`."""

    def register(method: P) -> P:
        PLANS[method.__name__] = (method, weight)
        return method

    return register


class Backend:
    """The shop: creates each order, waits a while, then does what its plan says."""

    def __init__(self, api: Api, token: str, act_within: float) -> None:
        self.api = api
        self.auth = {"Authorization": f"Bearer {token}"}
        self.act_within = act_within

    async def run(self, order: OrderSpec) -> None:
        rng = random.Random(order.seed)
        await asyncio.sleep(rng.uniform(0, self.act_within))
        # Sometimes the backend posts the same new order twice at once.
        copies = 2 if rng.random() < 0.2 else 1
        created = await asyncio.gather(*(self.create(order) for _ in range(copies)))
        if not any(call.accepted for call in created):
            return
        # Let the chase get somewhere first: emails, the pool task, a dial.
        await asyncio.sleep(rng.uniform(0, self.act_within))
        await PLANS[order.plan][0](self, order, rng)

    async def create(self, order: OrderSpec) -> Call:
        call = Call("create", order.id, time.time(), 0.0, 0)
        return await self.api.call(call, "POST", "/v1/orders", self.auth, order.body())

    async def event(
        self,
        order: OrderSpec,
        kind: str,
        event_id: str,
        amount: Decimal | None = None,
        phone: str | None = None,
    ) -> Call:
        body: dict[str, Any] = {"event_id": event_id, "type": kind}
        if amount is not None:
            body["amount"] = str(amount)
        if phone is not None:
            body["phone"] = phone
        call = Call(kind, order.id, time.time(), 0.0, 0, event_id=event_id, amount=amount)
        return await self.api.call(call, "POST", f"/v1/orders/{order.id}/events", self.auth, body)

    def paid(self, order: OrderSpec) -> Awaitable[Call]:
        """The order's payment: one event id, so that every post after the first is a repeat."""
        return self.event(order, "paid", f"{order.id}-pay")

    def cancelled(self, order: OrderSpec) -> Awaitable[Call]:
        """The order's cancellation, one event id like the payment's."""
        return self.event(order, "cancelled", f"{order.id}-cancel")

    def part_paid(self, order: OrderSpec, number: int, amount: Decimal) -> Awaitable[Call]:
        """The order's part payment `number`, one event id for each part."""
        return self.event(order, "partially_paid", f"{order.id}-part{number}", amount)

    async def copies(self, count: int, post: Callable[[], Awaitable[Call]]) -> None:
        """One event posted `count` times at the same instant."""
        await asyncio.gather(*(post() for _ in range(count)))

    # --- plans ------------------------------------------------------------------------

    @plan(weight=3)
    async def pay(self, order: OrderSpec, rng: random.Random) -> None:
        await self.paid(order)

    @plan(weight=2)
    async def pay_many_times(self, order: OrderSpec, rng: random.Random) -> None:
        """The same payment event posted 5 to 10 times at once."""
        await self.copies(rng.randint(5, 10), lambda: self.paid(order))

    @plan(weight=2)
    async def parts_one_by_one(self, order: OrderSpec, rng: random.Random) -> None:
        for k, part in enumerate(split(order.amount, rng.randint(2, 4), rng)):
            await self.part_paid(order, k, part)
            await asyncio.sleep(rng.uniform(0, 1.0))

    @plan(weight=3)
    async def parts_at_once(self, order: OrderSpec, rng: random.Random) -> None:
        """2 to 5 parts that add up, all posted at the same instant, one of them twice."""
        parts = split(order.amount, rng.randint(2, 5), rng)
        posts = [self.part_paid(order, k, part) for k, part in enumerate(parts)]
        posts.append(self.part_paid(order, 0, parts[0]))
        await asyncio.gather(*posts)

    @plan(weight=3)
    async def pay_and_cancel_at_once(self, order: OrderSpec, rng: random.Random) -> None:
        await asyncio.gather(self.paid(order), self.cancelled(order))

    @plan(weight=2)
    async def parts_and_cancel_at_once(self, order: OrderSpec, rng: random.Random) -> None:
        parts = split(order.amount, rng.randint(2, 3), rng)
        await asyncio.gather(
            self.cancelled(order),
            *(self.part_paid(order, k, part) for k, part in enumerate(parts)),
        )

    @plan(weight=2)
    async def cancel_many_times(self, order: OrderSpec, rng: random.Random) -> None:
        await self.copies(rng.randint(3, 6), lambda: self.cancelled(order))

    @plan(weight=1)
    async def cancel(self, order: OrderSpec, rng: random.Random) -> None:
        await self.cancelled(order)

    @plan(weight=2)
    async def pay_then_cancel(self, order: OrderSpec, rng: random.Random) -> None:
        """A cancel after the payment was accepted must be refused."""
        await self.pay(order, rng)
        await asyncio.sleep(rng.uniform(0, 0.5))
        await self.cancelled(order)

    @plan(weight=2)
    async def cancel_then_pay(self, order: OrderSpec, rng: random.Random) -> None:
        """Money wins: a payment after the chase ended as cancelled still pays the order."""
        await self.cancel(order, rng)
        await asyncio.sleep(rng.uniform(0, 2.0))
        await self.pay(order, rng)

    @plan(weight=2)
    async def phone_later(self, order: OrderSpec, rng: random.Random) -> None:
        """An order without a phone gets one; the managers take it from there, or it is paid."""
        await self.event(order, "phone_changed", f"{order.id}-phone", phone=f"+7911{order.id[1:]}")
        if rng.random() < 0.5:
            await asyncio.sleep(rng.uniform(0, self.act_within))
            await self.pay(order, rng)

    @plan(weight=4)
    async def leave_to_managers(self, order: OrderSpec, rng: random.Random) -> None:
        """Nothing from the backend: the robot managers' answers and the window end it."""


# Plausible answers by task kind, with weights; date-time tasks get a time a moment ahead.
ANSWERS: dict[str, dict[str, int]] = {
    "take_order": {"yes": 19, "duplicate": 1, "mistake": 1},
    "ask_phone": {"send": 3, "skip": 1},
    "call": {"reached": 10, "no_answer": 6, "wrong_number": 2, "duplicate": 1},
    # No instalments: a plan outlasts the payment window by design (months), so the run
    # would wait for it far past its scaled window.
    "will_pay": {"yes": 3, "no": 2, "discount": 1, "instalments": 0},
    "confirm_cancel": {"yes": 1, "no": 1},
}
POLL_EVERY = 0.25
# Share of pool tasks that two managers answer at the same instant.
RACE_SHARE = 0.4


@dataclass(frozen=True)
class Robot:
    id: str
    auth: dict[str, str]


class Robots:
    """Managers who poll their tasks and the shared pool and answer what they find."""

    def __init__(self, api: Api, rng: random.Random) -> None:
        self.api = api
        self.rng = rng
        self.robots: list[Robot] = []
        self.seen: set[int] = set()
        self.raced = 0
        self._answering: set[asyncio.Task[None]] = set()

    async def register(self, backend_token: str, count: int) -> None:
        auth = {"Authorization": f"Bearer {backend_token}"}
        for n in range(1, count + 1):
            body = {"id": f"robot-{n}", "name": f"Robot {n}", "email": f"robot-{n}@shop.example"}
            response = await self.api.send("POST", "/v1/managers", auth, body)
            if response is None or response.status_code != 201:
                raise SystemExit(f"chaos: could not create manager {body['id']}: {response}")
            token = response.json()["token"]
            self.robots.append(Robot(body["id"], {"Authorization": f"Bearer {token}"}))

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await asyncio.gather(
                self._watch(stop, self.robots[0], "pool", self._answer_pool_task),
                *(self._watch(stop, robot, "mine", self._answer_own_task) for robot in self.robots),
            )
            await asyncio.gather(*self._answering)
        finally:
            for answering in list(self._answering):  # cancelled, the run leaves none behind
                answering.cancel()

    async def _watch(
        self,
        stop: asyncio.Event,
        robot: Robot,
        scope: str,
        answer: Callable[[Robot, dict[str, Any]], Coroutine[Any, Any, None]],
    ) -> None:
        while not stop.is_set():
            response = await self.api.send(
                "GET", f"/v1/tasks?scope={scope}&status=open", robot.auth, retry=False
            )
            for task in response.json() if response is not None and response.is_success else []:
                if task["order_id"] is not None and task["id"] not in self.seen:
                    self.seen.add(task["id"])
                    answering = asyncio.create_task(answer(robot, task))
                    self._answering.add(answering)
                    answering.add_done_callback(self._answering.discard)
            await asyncio.sleep(POLL_EVERY)

    async def _answer_pool_task(self, _: Robot, task: dict[str, Any]) -> None:
        """Any robot may take a pool task; sometimes two answer it at the same instant."""
        racing = 2 if len(self.robots) > 1 and self.rng.random() < RACE_SHARE else 1
        self.raced += racing == 2
        await self._think()
        await asyncio.gather(
            *(self._answer(robot, task) for robot in self.rng.sample(self.robots, racing))
        )

    async def _answer_own_task(self, robot: Robot, task: dict[str, Any]) -> None:
        await self._think()
        await self._answer(robot, task)

    async def _think(self) -> None:
        await asyncio.sleep(self.rng.uniform(0, 0.3))

    async def _answer(self, robot: Robot, task: dict[str, Any]) -> None:
        for _ in range(2):  # a date-time refused (past, after the window) gets one more try
            body = self._choose(task)
            call = Call(
                "answer",
                task["order_id"],
                time.time(),
                0.0,
                0,
                task_id=task["id"],
                task_kind=task["kind"],
                manager_id=robot.id,
                answer=body["answer"],
            )
            await self.api.call(call, "POST", f"/v1/tasks/{task['id']}/answer", robot.auth, body)
            if call.status != 422 or task["answer_type"] != "datetime":
                return

    def _choose(self, task: dict[str, Any]) -> dict[str, Any]:
        if task["answer_type"] == "datetime":
            at = datetime.now(UTC) + timedelta(seconds=self.rng.uniform(0.3, 2.5))
            return {"answer": "at", "at": at.isoformat()}
        if task["answer_type"] == "number":
            number = self.rng.randint(task["number_min"], task["number_max"])
            body: dict[str, Any] = {"answer": "number", "number": number}
            if task["kind"] == "discount":
                body["valid_days"] = self.rng.randint(1, 3)
            return body
        weights = ANSWERS.get(task["kind"], {})
        options = task["options"]
        chosen = self.rng.choices(options, weights=[weights.get(o, 1) for o in options])[0]
        return {"answer": chosen}
