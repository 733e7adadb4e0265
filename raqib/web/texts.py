"""Every string of the web view, Arabic and English side by side in one table.

Arabic is the default; `?lang=en` (remembered in a cookie) switches. A key missing from
the table is a programming error (KeyError in tests), never an empty label on a page.
"""
from __future__ import annotations

LANGS = ("ar", "en")

TEXTS: dict[str, tuple[str, str]] = {
    "app": ("رقيب", "Raqib"),
    "nav_alerts": ("التنبيهات", "Alerts"),
    "nav_watchlists": ("قوائم المتابعة", "Watchlists"),
    "nav_feeds": ("المصادر", "Feeds"),
    "nav_search": ("بحث", "Search"),
    "switch": ("English", "العربية"),
    "alerts_title": ("آخر التنبيهات", "Latest alerts"),
    "filter_watchlist": ("قائمة المتابعة", "Watchlist"),
    "filter_source": ("المصدر", "Source"),
    "filter_day": ("اليوم", "Day"),
    "filter_all": ("الكل", "All"),
    "filter_apply": ("تصفية", "Filter"),
    "no_alerts": ("لا تنبيهات هنا بعد.", "No alerts here yet."),
    "also": ("نقلته أيضاً", "Also reported by"),
    "matched": ("الكلمات المطابقة", "Matched terms"),
    "open_story": ("القصة ومصادرها", "The story and its outlets"),
    "link": ("الرابط", "Link"),
    "spread": ("انتشار", "spread"),
    "story_title": ("القصة", "Story"),
    "story_missing": ("لا توجد هذه القصة (ربما حُذفت بعد مدة الاحتفاظ).",
                      "No such story (it may have been pruned after the retention period)."),
    "outlets": ("المصادر التي نقلتها", "Outlets that carried it"),
    "timeline": ("كيف انتشرت", "How it spread"),
    "first": ("الأول", "first"),
    "after": ("بعد", "after"),
    "alerted_by": ("نبهت عليها", "Alerted by"),
    "watchlists_title": ("قوائم المتابعة", "Watchlists"),
    "per_hour": ("التنبيهات في الساعة، آخر 7 أيام", "Alerts per hour, last 7 days"),
    "alerts_7d": ("تنبيهات في 7 أيام", "alerts in 7 days"),
    "last_alerts": ("آخر تنبيهاتها", "Its last alerts"),
    "no_watchlists": ("لا قائمة متابعة مفعّلة.", "No watchlist in force."),
    "watchlist_missing": ("لا توجد قائمة بهذا الاسم.", "No watchlist by that name."),
    "file": ("الملف", "File"),
    "try_title": ("جرّب القائمة", "Try the watchlist"),
    "try_help": ("عدّل القائمة هنا واعرض ما كانت ستلتقطه من القصص المخزنة. لا يُحفظ شيء ولا يُرسل شيء.",
                 "Edit the watchlist here and see what it would have caught among the stored stories. "
                 "Nothing is saved or sent."),
    "try_days": ("الأيام", "Days"),
    "try_run": ("جرّب", "Try"),
    "items_waiting": ("خبراً ينتظر الدورات التالية", "items waiting for the next polls"),
    "stories_read": ("قصة قُرئت", "stories read"),
    "stopped_time": ("توقّف عند حدّه الزمني؛ هذا ما وُجد حتى تلك اللحظة.",
                     "Stopped at its time limit: this is what was found until then."),
    "stopped_stories": ("توقّف عند حدّ القصص المقروءة؛ هذا ما وُجد فيها.",
                        "Stopped at its limit of stories read: this is what they held."),
    "stopped_terms": ("في الملف كلمات أكثر مما تحتمله التجربة هنا؛ جرّبه على أجزاء أو بالأمر raqib try.",
                      "The file has more terms than a try here takes: try it in parts, or with raqib try."),
    "stopped_cancelled": ("أُلغي.", "Cancelled."),
    "seconds": ("ث", "s"),
    "try_caught": ("كانت ستنبه على", "Would have alerted on"),
    "try_dropped": ("أسقطتها قاعدة", "Dropped by a rule"),
    "try_errors": ("أخطاء في القائمة", "Problems in the watchlist"),
    "try_per_day": ("التنبيهات في اليوم", "Alerts per day"),
    "try_top": ("أكثر الكلمات إطلاقاً", "Terms that fire most"),
    "try_never": ("كلمات لم تُطلق", "Terms that never fired"),
    "try_none": ("لم تكن لتنبه على شيء.", "It would have alerted on nothing."),
    "try_unavailable": ("التجربة غير متاحة في هذه النسخة.", "Trying is not available in this version."),
    "rule": ("القاعدة", "Rule"),
    "term": ("الكلمة", "Term"),
    "feeds_title": ("صحة المصادر", "Feed health"),
    "col_feed": ("المصدر", "Feed"),
    "col_state": ("الحالة", "State"),
    "col_last_success": ("آخر نجاح", "Last success"),
    "col_failures": ("الإخفاقات", "Failures"),
    "col_items": ("العناصر", "Items"),
    "col_every": ("كل", "Every"),
    "col_per_day": ("القصص يومياً (14 يوماً)", "Stories a day (14 days)"),
    "col_error": ("آخر خطأ", "Last error"),
    "state_ok": ("يعمل", "ok"),
    "state_new": ("جديد", "new"),
    "state_failing": ("يتعثر", "failing"),
    "state_unhealthy": ("معطل", "UNHEALTHY"),
    "state_disabled": ("موقوف", "DISABLED"),
    "bad_items": ("عناصر تعذرت قراءتها", "items could not be read"),
    "minutes": ("دقيقة", "min"),
    "never": ("أبداً", "never"),
    "ago_s": ("قبل {n} ث", "{n} s ago"),
    "ago_m": ("قبل {n} د", "{n} min ago"),
    "ago_h": ("قبل {n} س", "{n} h ago"),
    "ago_d": ("قبل {n} يوم", "{n} d ago"),
    "u_s": ("{n} ث", "{n} s"),
    "u_m": ("{n} د", "{n} min"),
    "u_h": ("{n} س", "{n} h"),
    "u_d": ("{n} يوم", "{n} d"),
    "search_title": ("البحث في القصص المخزنة", "Search the stored stories"),
    "search_help": ("اكتب كلمة أو عبارة كما تكتبها في قائمة متابعة.",
                    "Write a word or phrase as you would in a watchlist."),
    "search_go": ("ابحث", "Search"),
    "search_exact": ("الكلمة كما هي فقط", "exact word only"),
    "search_results": ("النتائج", "Results"),
    "search_none": ("لا قصة تطابق.", "No story matches."),
    "search_more": ("قد تطابق قصص أقدم لم تُعرض؛ ضيّق البحث بمصدر أو بعدد الأيام.",
                    "Older stories may match too; narrow the search by source or days."),
    "search_unavailable": ("البحث غير متاح في هذه النسخة.", "Search is not available in this version."),
    "bad_query": ("طلب غير صالح", "Bad request"),
    "err_title": ("خطأ", "Error"),
    "err_404": ("الصفحة غير موجودة.", "No such page."),
    "err_405": ("هذه الصفحة للقراءة فقط.", "This page is read-only."),
    "err_413": ("الطلب أكبر من المسموح.", "The request is too large."),
    "err_403": ("رُفض الطلب: يجب أن يأتي من هذه الصفحة نفسها.", "Refused: the form must be sent from this site."),
    "err_503": ("مشغول بطلبات أخرى؛ أعد المحاولة بعد لحظات.", "Busy with other requests; try again in a moment."),
    "err_500": ("حدث خطأ داخلي؛ سُجّل في سجل الخدمة.", "Something went wrong; it is in the daemon's log."),
    "err_400": ("طلب غير صالح.", "Bad request."),
    "utc": ("بتوقيت غرينتش", "UTC"),
    # the last error in words, by what the message says
    "why_404": ("الصفحة غير موجودة على الخادم (404)", "the server has no such page (404)"),
    "why_410": ("أزال الناشر الخلاصة (410)", "the publisher removed the feed (410)"),
    "why_403": ("الخادم يرفض الوصول (403/401)", "the server refuses access (403/401)"),
    "why_429": ("الخادم يطلب التمهل (429)", "the server asks us to slow down (429)"),
    "why_5xx": ("عطل في خادم الناشر (5xx)", "the publisher's server fails (5xx)"),
    "why_timeout": ("انتهت المهلة دون رد", "timed out waiting for the server"),
    "why_dns": ("تعذر العثور على الخادم", "the server's name could not be found"),
    "why_connect": ("تعذر الاتصال بالخادم", "could not connect to the server"),
    "why_tls": ("مشكلة في شهادة الأمان", "a TLS certificate problem"),
    "why_size": ("الخلاصة أكبر من الحد المسموح", "the feed is larger than allowed"),
    "why_parse": ("المحتوى ليس خلاصة مقروءة", "the content is not a readable feed"),
    "why_private": ("العنوان يشير إلى شبكة خاصة", "the address points into a private network"),
    "why_items": ("بعض العناصر تعذرت قراءتها", "some items could not be read"),
    "why_redirect": ("تحويلات كثيرة أو حلقة تحويل", "too many redirects, or a redirect loop"),
    "why_other": ("خطأ", "error"),
}

# What a feed's last error means, in words: the first pattern found in the message (lower-cased).
ERROR_WORDS: tuple[tuple[str, str], ...] = (
    ("http 404", "why_404"), ("http 410", "why_410"), ("http 401", "why_403"), ("http 403", "why_403"),
    ("http 429", "why_429"), ("http 5", "why_5xx"), ("no complete answer", "why_timeout"),
    ("timed out", "why_timeout"), ("larger than", "why_size"), ("redirect", "why_redirect"),
    ("certificate", "why_tls"), ("ssl", "why_tls"), ("name or service not known", "why_dns"),
    ("nodename", "why_dns"), ("getaddrinfo", "why_dns"), ("cannot connect", "why_connect"),
    ("connection refused", "why_connect"), ("refused: ", "why_private"), ("parse", "why_parse"),
    ("not a feed", "why_parse"), ("item ", "why_items"),
)


def text(lang: str, key: str, **values: object) -> str:
    ar, en = TEXTS[key]
    out = en if lang == "en" else ar
    return out.format(**values) if values else out


def error_words(message: str) -> str:
    """The key of the words that say what a feed's last error means."""
    low = message.lower()
    for pattern, key in ERROR_WORDS:
        if pattern in low:
            return key
    return "why_other"
