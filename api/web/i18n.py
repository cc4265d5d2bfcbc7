"""The web app's words in English and Russian, and which of the two a request gets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import Request

from api.errors import ApiError

LANGUAGES = ("en", "ru")

# key -> (English, Russian). Task titles and call scripts come in the order's language from
# the worker (templates/tasks/); these are the app's own labels.
MESSAGES: dict[str, tuple[str, str]] = {
    "app": ("chaser", "chaser"),
    "sign_in": ("Sign in", "Войти"),
    "sign_out": ("Sign out", "Выйти"),
    "token": ("Your token", "Ваш токен"),
    "token_help": (
        "The manager token the shop gave you (or the backend token for the shop view).",
        "Токен менеджера, который выдал магазин (или токен бэкенда для обзора магазина).",
    ),
    "wrong_token": ("That token is not valid.", "Этот токен не подходит."),
    "inactive": ("This manager is deactivated.", "Этот менеджер отключён."),
    "expired": ("Please sign in again.", "Войдите снова."),
    "bad_csrf": (
        "The form expired: reload the page and try again.",
        "Форма устарела: обновите страницу и попробуйте снова.",
    ),
    "inbox": ("Inbox", "Входящие"),
    "calls": ("Call list", "Обзвон"),
    "admin": ("Shop", "Магазин"),
    "all_kinds": ("All", "Все"),
    "mine": ("Mine", "Мои"),
    "pool": ("Pool", "Общие"),
    "no_tasks": ("Nothing to do right now.", "Сейчас задач нет."),
    "taken_by": ("Task #{id} was taken by {who}.", "Задачу №{id} взял(а) {who}."),
    "task_gone": ("Task #{id} is no longer open ({why}).", "Задача №{id} уже закрыта ({why})."),
    "order": ("Order", "Заказ"),
    "customer": ("Customer", "Клиент"),
    "product": ("Product", "Продукт"),
    "amount": ("Amount", "Сумма"),
    "subscription": ("Subscription", "Подписка"),
    "price": ("Price", "Цена"),
    "period_ends": ("Period ends", "Период заканчивается"),
    "phone": ("Phone", "Телефон"),
    "email": ("Email", "Email"),
    "status": ("Status", "Статус"),
    "stage": ("Stage", "Этап"),
    "dial": ("Dialling", "Обзвон"),
    "dial_counts": (
        "day {day}, call {call}, {attempts} attempts",
        "день {day}, звонок {call}, попыток: {attempts}",
    ),
    "offer": ("Personal offer", "Персональное предложение"),
    "offer_line": ("{percent}% until {until} ({status})", "{percent}% до {until} ({status})"),
    "assignee": ("Manager", "Менеджер"),
    "nobody": ("the pool", "общий пул"),
    "script": ("Call script", "Скрипт звонка"),
    "answer": ("Answer", "Ответ"),
    "when": ("Date and time", "Дата и время"),
    "your_time": ("your time, {zone}", "ваше время, {zone}"),
    "customer_time": ("Customer's time", "Время клиента"),
    "save": ("Save", "Сохранить"),
    "number_discount": ("Discount, %", "Скидка, %"),
    "number_instalments": ("Number of parts", "Количество частей"),
    "valid": (
        "Valid for a number of days, or until a date",
        "Действует столько-то дней или до даты",
    ),
    "valid_days": ("Days", "Дней"),
    "instalments_plan": ("Instalments", "Рассрочка"),
    "valid_until": ("Until", "До"),
    "percent_for": ("{n}% for {days} d", "{n}% на {days} дн"),
    "percent_until": ("{n}% until {at}", "{n}% до {at}"),
    "note": ("Note (optional)", "Заметка (необязательно)"),
    "release": ("Give back to the pool", "Вернуть в общий пул"),
    "pause": ("Pause the chase", "Приостановить"),
    "pause_until": ("Until", "До"),
    "pause_reason": ("Why", "Причина"),
    "pause_button": ("Pause", "Приостановить"),
    "paused": ("Paused", "Приостановлен"),
    "paused_line": ("until {until}: {reason}", "до {until}: {reason}"),
    "resume": ("Resume now", "Возобновить сейчас"),
    "answered_by": ("Answered {answer} by {who} at {at}.", "Ответ «{answer}»: {who}, {at}."),
    "closed_task": ("Closed: {why}.", "Закрыта: {why}."),
    "next_task": ("Next task of this order", "Следующая задача заказа"),
    "waiting_next": ("Waiting for the next step…", "Ждём следующего шага…"),
    "timeline": ("Timeline", "История"),
    "back": ("Back to the inbox", "Ко входящим"),
    "search": ("Search", "Поиск"),
    "search_help": ("Order id, email or phone", "Номер заказа, email или телефон"),
    "no_results": ("Nothing found.", "Ничего не найдено."),
    "outcomes": ("Outcomes per product", "Итоги по продуктам"),
    "conversion": ("Conversion", "Конверсия"),
    "positive": ("Paid", "Оплачено"),
    "neutral": ("Duplicate", "Дубль"),
    "negative": ("Lost", "Потеряно"),
    "open": ("Open", "В работе"),
    "reasons_lost": ("Reasons lost", "Причины потерь"),
    # Orders kept out of the conversion: duplicates, created by mistake.
    "reasons_neutral": ("Not counted", "Не в счёт"),
    "backlog": ("Open tasks per manager", "Открытые задачи по менеджерам"),
    "oldest": ("Oldest waits", "Дольше всех ждёт"),
    "managers": ("Managers", "Менеджеры"),
    "active": ("Active", "Активен"),
    "deactivated": ("Deactivated", "Отключён"),
    "deactivate": ("Deactivate", "Отключить"),
    "activate": ("Activate", "Включить"),
    "successor": ("Successor", "Преемник"),
    "to_pool": ("— the pool —", "— общий пул —"),
    "new_token": ("New token", "Новый токен"),
    "token_once": (
        "New token for {who}, shown once: {token}",
        "Новый токен для {who}, показан один раз: {token}",
    ),
    "moved": ("{who} deactivated; orders moved: {orders}.", "{who} отключён; заказы: {orders}."),
    "assign": ("Assign", "Назначить"),
    "forbidden": ("This page is not yours.", "Эта страница вам недоступна."),
    "not_found": ("Not found.", "Не найдено."),
    "skip": ("Skip to the content", "К содержимому"),
    "minutes": ("{n} min", "{n} мин"),
    "hours": ("{n} h", "{n} ч"),
    "days": ("{n} d", "{n} дн"),
    "orders": ("orders", "заказов"),
    # Refusals: the API's sentences (api/errors.py, `words`), said to a person.
    "no_task": ("Task #{key} was not found.", "Задача №{key} не найдена."),
    "no_order": ("Order {key} was not found.", "Заказ {key} не найден."),
    "no_manager": ("Manager {key} was not found.", "Менеджер {key} не найден."),
    "refused_answered": (
        "Task #{id} was already answered by {who}.",
        "На задачу №{id} уже ответил(а) {who}.",
    ),
    "refused_closed": (
        "Task #{id} is closed ({why}): it takes no answer.",
        "Задача №{id} закрыта ({why}): ответ не принимается.",
    ),
    "refused_not_yours": (
        "Task #{id} is assigned to another manager.",
        "Задача №{id} назначена другому менеджеру.",
    ),
    "refused_not_your_order": (
        "Order {id} is another manager's.",
        "Заказ {id} ведёт другой менеджер.",
    ),
    "refused_answer": (
        "“{answer}” is not an answer to this task.",
        "«{answer}» — не ответ на эту задачу.",
    ),
    "refused_release": (
        "Task #{id} is not open: there is nothing to give back.",
        "Задача №{id} не открыта: возвращать нечего.",
    ),
    "refused_in_pool": ("Task #{id} is already in the pool.", "Задача №{id} уже в общем пуле."),
    "refused_no_time": ("Choose a date and time.", "Выберите дату и время."),
    "refused_no_number": ("Enter a number.", "Введите число."),
    "refused_number": (
        "{number} is not between {low} and {high}.",
        "{number} — не в пределах от {low} до {high}.",
    ),
    "refused_no_validity": (
        "Say how long the discount holds: a number of days or a date (not both).",
        "Укажите срок скидки: число дней или дату (что-то одно).",
    ),
    "refused_past": ("{at} is in the past.", "{at} уже прошло."),
    "refused_after_window": (
        "{at} is after the payment window ends ({ends}).",
        "{at} — позже конца срока оплаты ({ends}).",
    ),
    "refused_silent": (
        "The order's process did not answer in time: try again in a moment.",
        "Процесс заказа не ответил вовремя: попробуйте ещё раз через минуту.",
    ),
    "refused_unknown": ("{id} is not a known manager.", "{id} — неизвестный менеджер."),
    "refused_inactive": ("Manager {id} is deactivated.", "Менеджер {id} отключён."),
    "refused_deactivated": ("Manager {id} is already deactivated.", "Менеджер {id} уже отключён."),
    "refused_self": ("{id} cannot succeed themselves.", "{id} не может быть своим преемником."),
    "refused_leads": (
        "{id} is responsible for {count} leads: choose a successor.",
        "За менеджером {id} лидов: {count}; выберите преемника.",
    ),
    "refused_order_closed": ("Order {id} is already {status}.", "Заказ {id} уже: {status}."),
    "refused_chase_ended": (
        "The chase of order {id} has already ended.",
        "Процесс заказа {id} уже завершён.",
    ),
}

# Answers, task kinds and statuses, by the same code the API uses.
LABELS: dict[str, tuple[str, str]] = {
    "yes": ("Yes", "Да"),
    "no": ("No", "Нет"),
    "duplicate": ("Duplicate", "Дубль"),
    "mistake": ("Created by mistake", "Ошибочный заказ"),
    "wait": ("Wait 3 more days", "Подождать ещё 3 дня"),
    "cancel": ("Cancel the order", "Отменить заказ"),
    "discount": ("Discount", "Скидка"),
    "instalments": ("Instalments", "Рассрочка"),
    "send": ("Send", "Отправить"),
    "skip": ("Skip", "Пропустить"),
    "reached": ("Reached", "Дозвонились"),
    "no_answer": ("No answer", "Не ответил"),
    "wrong_number": ("Wrong number", "Неверный номер"),
    "take_order": ("Take the order", "Взять заказ"),
    "ask_phone": ("Ask for a phone", "Запросить телефон"),
    "call": ("Call", "Звонок"),
    "will_pay": ("Will pay?", "Оплатит?"),
    "payment_date": ("Payment date", "Дата оплаты"),
    "confirm_cancel": ("Cancel?", "Отменить?"),
    "callback_time": ("Call back", "Перезвонить"),
    "no_phone_check": ("Check the order", "Проверить заказ"),
    "instalment_call": ("Instalment overdue", "Просрочен платёж"),
    "email_bounced": ("Email bounced", "Письмо не дошло"),
    "fixed": ("Fixed", "Исправлено"),
    "renewal_call": ("Renewal call", "Звонок о продлении"),
    "checkin": ("Check-in", "Как дела с курсом"),
    "renewing": ("Renewing", "Продлевает"),
    "declined": ("Declined", "Отказался"),
    "happy": ("Happy", "Доволен"),
    "offer_accepted": ("Took the offer", "Принял предложение"),
    "not_interested": ("Not interested", "Не интересно"),
    "active": ("Active", "Активна"),
    "lapsed": ("Lapsed", "Истекла"),
    "new": ("New", "Новый"),
    "in_progress": ("In progress", "В работе"),
    "not_confirmed": ("Not confirmed", "Не подтверждён"),
    "pending": ("Pending", "Отложен"),
    "payment_pending": ("Payment pending", "Ожидает оплаты"),
    "partially_paid": ("Partially paid", "Частично оплачен"),
    "paid": ("Paid", "Оплачен"),
    "due": ("Due", "Ожидается"),
    "missed": ("Missed", "Просрочен"),
    "cancelled": ("Cancelled", "Отменён"),
    "false": ("False", "Ложный"),
}

Translate = Callable[..., str]


def language_of(request: Request, preferred: str | None) -> str:
    """The signed-in manager's language, else the browser's first one we speak."""
    if preferred in LANGUAGES:
        return preferred
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def translator(language: str) -> tuple[Translate, Callable[[str], str]]:
    """`t(key, **values)` for the app's words and `label(code)` for answers, kinds, statuses."""
    index = LANGUAGES.index(language)

    def t(key: str, **values: object) -> str:
        return MESSAGES[key][index].format(**values)

    def label(code: str) -> str:
        pair = LABELS.get(code)
        return pair[index] if pair else code

    return t, label


def refusal(error: ApiError, language: str, zone: str) -> str:
    """An API refusal in the manager's language, times in their zone; a refusal the app has
    no words for keeps the API's sentence."""
    if error.words not in MESSAGES:
        return error.detail
    t, label = translator(language)
    values = {
        name: value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
        if isinstance(value, datetime)
        else label(value)
        if isinstance(value, str)
        else value
        for name, value in error.values.items()
    }
    return t(error.words, **values)
