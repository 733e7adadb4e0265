"""What the bot and its alerts say, in Arabic and English: message texts, command menu,
alert labels. A reply is formatted from these by `alerts.telegram.botbase`; every value put
into one is escaped there."""
from __future__ import annotations

LANGS = ("ar", "en")

LABELS = {
    "ar": {"also": "نقلته أيضاً: ", "terms": "الكلمات: ", "spread": "🔥 ينتشر: نشرته {count}: ",
           "digest": "🗞 ملخص: {count}", "more_sources": "مصادر", "read": "اقرأ الخبر",
           "health": "حالة المصادر", "update": "تحديث", "related": "تغطية ذات صلة",
           "mute_event": "🔕 كتم هذا الحدث", "not_relevant": "ليس ذا صلة"},
    "en": {"also": "Also reported by: ", "terms": "Terms: ", "spread": "🔥 Spreading: {count}: ",
           "digest": "🗞 Digest: {count}", "more_sources": "outlets", "read": "Read",
           "health": "Feed health", "update": "Update", "related": "Related coverage",
           "mute_event": "🔕 Mute this event", "not_relevant": "Not relevant"},
}



TEXTS: dict[str, dict[str, str]] = {
    "ar": {
        "welcome": "👋 أهلاً بك في <b>رقيب</b>: أنبّهك حين تذكر الأخبار ما يهمّك.\n\n",
        "help": ("الأوامر:\n"
                 "/list — قوائم المتابعة وما تتابعه\n"
                 "/subscribe الاسم — تابع قائمة\n"
                 "/unsubscribe الاسم — أوقف متابعة قائمة (أو all للكل)\n"
                 "/mute 2h — أوقف التنبيهات مدة (30m، 2h، 1d)\n"
                 "/unmute — أعد التنبيهات\n"
                 "/quiet 22:00-07:00 — ساعات هدوء (أو off)\n"
                 "/related reply — تغطية الحدث نفسه من مصادر أخرى: ردّ على التنبيه الأول، أو edit، أو alert\n"
                 "/watch كلمة — تابع كلمة خاصة بك\n"
                 "/unwatch كلمة — احذف كلمة\n"
                 "/status — حال المصادر والتنبيهات\n"
                 "/tz Asia/Riyadh — المنطقة الزمنية لأوقات التنبيهات\n"
                 "/lang en — English"),
        "help_admin": ("\n\nللمشرفين:\n/reload — أعد قراءة الإعدادات والقوائم\n/feeds — المصادر وحالها\n"
                       "/approve رقم — اقبل محادثة\n/deny رقم — ارفض محادثة"),
        "list_head": "📋 قوائم المتابعة (✓ = تتابعها):",
        "list_empty": "لا توجد قوائم متابعة بعد.",
        "subscribed": "✓ تتابع الآن «{title}».",
        "already": "أنت تتابع «{title}» من قبل.",
        "unsubscribed": "أوقفت متابعة «{title}».",
        "not_subscribed": "لم تكن تتابع «{title}».",
        "unsubscribed_all": "أوقفت متابعة كل القوائم ({count}).",
        "unknown_list": "لا توجد قائمة باسم «{name}». أرسل /list لترى القوائم.",
        "need_name": "اكتب اسم القائمة، مثل: /{cmd} {example}",
        "muted": "🔕 التنبيهات متوقفة حتى {until}. ما يصل في أثناء ذلك يُرسل ملخصاً بعدها.",
        "bad_duration": "مدة غير مفهومة: «{text}». أمثلة: 30m، 2h، 1d.",
        "unmuted": "🔔 عادت التنبيهات.",
        "quiet_set": "🌙 ساعات الهدوء: {quiet} ({tz}). ما يصل فيها يُرسل ملخصاً بعد انتهائها.",
        "quiet_off": "ألغيت ساعات الهدوء.",
        "tz_now": "🕰 أوقات هذه المحادثة بتوقيت {tz} (الآن {now}). غيّره: /tz Asia/Riyadh",
        "tz_set": "🕰 صارت الأوقات هنا بتوقيت {tz} (الآن {now}).",
        "bad_tz": "منطقة زمنية غير معروفة: «{text}». اكتبها هكذا: /tz Asia/Riyadh أو /tz UTC",
        "bad_quiet": "اكتب الساعات هكذا: /quiet 22:00-07:00 أو /quiet off",
        "related_reply": "🔗 تغطية الحدث نفسه من مصادر أخرى تصلك ردّاً على التنبيه الأول.",
        "related_edit": "🔗 تغطية الحدث نفسه من مصادر أخرى تُضاف إلى التنبيه الأول.",
        "related_alert": "🔗 تغطية الحدث نفسه من مصادر أخرى تصلك تنبيهاً مستقلاً.",
        "related_default": "🔗 تغطية الحدث نفسه من مصادر أخرى تتبع إعداد كل قائمة.",
        "bad_related": "اكتب: /related reply أو edit أو alert (أو default لإعداد كل قائمة)",
        "status": ("📊 الحال:\nالمصادر: {feeds_ok} من {feeds} تعمل\nمصادر متعثرة: {failing}\n"
                   "آخر جلب: {last_poll}\nأخبار اليوم: {stories_day}\nتنبيهات اليوم: {alerts_day}\n"
                   "في الانتظار: {pending}"),
        "status_nodes": "\nالعُقد العاملة: {alive}، وهذا الرد من {node}",
        "status_config_differs": "\n⚠️ قوائم المتابعة أو الإعدادات تختلف في: {nodes}",
        "status_chat": "\n\nهذه المحادثة: {follows}{muted}{quiet}",
        "follows": "تتابع {count}", "follows_none": "لا تتابع أي قائمة",
        "status_muted": "، التنبيهات متوقفة حتى {until}",
        "status_quiet": "، ساعات الهدوء {quiet}",
        "none": "لا شيء",
        "watching": "👁 أضفت «{term}» إلى كلماتك.",
        "already_watching": "«{term}» في كلماتك من قبل.",
        "unwatched": "حذفت «{term}» من كلماتك.",
        "not_watching": "«{term}» ليست في كلماتك.",
        "terms": "كلماتك: {terms}",
        "no_terms": "ليست لك كلمات خاصة بعد. أضف واحدة: /watch كلمة",
        "bad_term": "الكلمة فارغة أو أطول من {max} حرفاً.",
        "term_no_words": "لا أستطيع متابعة «{term}»: ليس فيها حرف ولا رقم بعد حذف التشكيل والتطويل والرموز، "
                         "فلن تطابق أي خبر.",
        "too_many_terms": "لك {max} كلمة، وهذا الحد.",
        "lang_set": "ستصلك الردود بالعربية.",
        "bad_lang": "اللغات: /lang ar أو /lang en",
        "admins_only": "هذا الأمر للمشرفين فقط.",
        "group_admins_only": "في المجموعات يغيّر الإعدادات مشرفو المجموعة فقط.",
        "not_allowed": "هذا البوت خاص. رقم محادثتك {chat}؛ أرسله إلى من يدير رقيب ليضيفك.",
        "requested": "أرسلت طلبك إلى المشرفين؛ سأخبرك حين يُقبل.",
        "pending": "طلبك عند المشرفين ولم يُبتّ فيه بعد.",
        "approved": "✅ قُبل طلبك. أرسل /list لتختار ما تتابعه.",
        "denied": "لم يُقبل طلبك.",
        "request": "طلب وصول من {who} (رقم {chat}).",
        "approve_btn": "✅ قبول", "deny_btn": "✖ رفض",
        "approved_admin": "قبلت المحادثة {chat}.", "denied_admin": "رفضت المحادثة {chat}.",
        "need_chat": "اكتب رقم المحادثة: /{cmd} 123456",
        "reloaded": "✅ أعدت قراءة الإعدادات والقوائم ({count}).",
        "reload_problems": "⚠️ أعدت القراءة مع مشكلات (بقيت آخر نسخة سليمة):\n{problems}",
        "feeds_head": "🛰 المصادر ({n}):",
        "error": "حدث خطأ؛ جرّب بعد قليل.",
        "slow_down": "⏳ أوامر كثيرة دفعة واحدة: أتجاهل الزائد منها. جرّب بعد دقيقة.",
        "btn_follow": "➕ {title}", "btn_unfollow": "✓ {title}",
        "event_muted": "🔕 لن يصلك شيء عن هذا الحدث حتى {until}.",
        "feedback_thanks": "شكراً: سُجّل أن هذا الخبر ليس ذا صلة بـ«{title}».",
        "feedback_admin": ("👎 محادثة {chat} ترى أن هذا الخبر ليس ذا صلة بـ«{title}» (<code>{name}</code>):\n"
                           "{story}\n\nإن تكرر مثله فأضف إلى ملف القائمة:\n<code>exclude: [{words}]</code>"),
        "feedback_admin_none": ("👎 محادثة {chat} ترى أن هذا الخبر ليس ذا صلة بـ«{title}» (<code>{name}</code>):\n"
                                "{story}"),
        "button_gone": "هذا التنبيه لم يعد محفوظاً.",
    },
    "en": {
        "welcome": "👋 Welcome to <b>Raqib</b>: I alert you when the news mentions what you care about.\n\n",
        "help": ("Commands:\n"
                 "/list — watchlists and what you follow\n"
                 "/subscribe NAME — follow a watchlist\n"
                 "/unsubscribe NAME — stop following (or all)\n"
                 "/mute 2h — pause alerts (30m, 2h, 1d)\n"
                 "/unmute — resume alerts\n"
                 "/quiet 22:00-07:00 — quiet hours (or off)\n"
                 "/related reply — other outlets on the same event: a reply to the first alert, edit, or alert\n"
                 "/watch WORD — follow a word of your own\n"
                 "/unwatch WORD — remove a word\n"
                 "/status — feeds and alerts\n"
                 "/tz Asia/Riyadh — the time zone of every time shown\n"
                 "/lang ar — العربية"),
        "help_admin": ("\n\nAdmins:\n/reload — re-read config and watchlists\n/feeds — feeds and their health\n"
                       "/approve ID — let a chat in\n/deny ID — refuse a chat"),
        "list_head": "📋 Watchlists (✓ = you follow it):",
        "list_empty": "No watchlists yet.",
        "subscribed": "✓ You now follow “{title}”.",
        "already": "You already follow “{title}”.",
        "unsubscribed": "You no longer follow “{title}”.",
        "not_subscribed": "You were not following “{title}”.",
        "unsubscribed_all": "Stopped following every watchlist ({count}).",
        "unknown_list": "No watchlist called “{name}”. Send /list to see them.",
        "need_name": "Name a watchlist, e.g. /{cmd} {example}",
        "muted": "🔕 Alerts paused until {until}. What arrives meanwhile comes as one digest afterwards.",
        "bad_duration": "Cannot read the duration “{text}”. Examples: 30m, 2h, 1d.",
        "unmuted": "🔔 Alerts resumed.",
        "quiet_set": "🌙 Quiet hours: {quiet} ({tz}). What arrives then comes as one digest afterwards.",
        "quiet_off": "Quiet hours off.",
        "tz_now": "🕰 Times in this chat are in {tz} (now {now}). Change it: /tz Asia/Riyadh",
        "tz_set": "🕰 Times here are now in {tz} (now {now}).",
        "bad_tz": "Unknown time zone “{text}”. Write it like /tz Asia/Riyadh or /tz UTC",
        "bad_quiet": "Write the hours like /quiet 22:00-07:00 or /quiet off",
        "related_reply": "🔗 Other outlets on the same event now come as a reply to the first alert.",
        "related_edit": "🔗 Other outlets on the same event are now added to the first alert.",
        "related_alert": "🔗 Other outlets on the same event now come as alerts of their own.",
        "related_default": "🔗 Other outlets on the same event now follow each watchlist's setting.",
        "bad_related": "Write /related reply, edit or alert (or default for each watchlist's setting)",
        "status": ("📊 Status:\nFeeds: {feeds_ok} of {feeds} working\nFailing feeds: {failing}\n"
                   "Last poll: {last_poll}\nStories today: {stories_day}\nAlerts today: {alerts_day}\n"
                   "Waiting: {pending}"),
        "status_nodes": "\nNodes running: {alive}; this answer comes from {node}",
        "status_config_differs": "\n⚠️ Watchlists or settings differ on: {nodes}",
        "status_chat": "\n\nThis chat {follows}{muted}{quiet}",
        "follows": "follows {count}", "follows_none": "follows no watchlist",
        "status_muted": ", alerts paused until {until}",
        "status_quiet": ", quiet hours {quiet}",
        "none": "none",
        "watching": "👁 Added “{term}” to your words.",
        "already_watching": "“{term}” is already one of your words.",
        "unwatched": "Removed “{term}” from your words.",
        "not_watching": "“{term}” is not one of your words.",
        "terms": "Your words: {terms}",
        "no_terms": "No words of your own yet. Add one: /watch WORD",
        "bad_term": "The word is empty or longer than {max} characters.",
        "term_no_words": ("“{term}” cannot be watched: it has no letters or digits once diacritics, tatweel "
                          "and symbols are removed, so it would never match a story."),
        "too_many_terms": "You have {max} words, the limit.",
        "lang_set": "Replies will be in English.",
        "bad_lang": "Languages: /lang ar or /lang en",
        "admins_only": "This command is for admins only.",
        "group_admins_only": "In groups only the group's administrators can change settings.",
        "not_allowed": "This bot is private. Your chat id is {chat}; send it to whoever runs Raqib.",
        "requested": "Your request went to the admins; I will tell you when it is approved.",
        "pending": "Your request is still with the admins.",
        "approved": "✅ You are in. Send /list to choose what to follow.",
        "denied": "Your request was not approved.",
        "request": "Access request from {who} (chat {chat}).",
        "approve_btn": "✅ Approve", "deny_btn": "✖ Deny",
        "approved_admin": "Approved chat {chat}.", "denied_admin": "Denied chat {chat}.",
        "need_chat": "Give the chat id: /{cmd} 123456",
        "reloaded": "✅ Config and watchlists re-read ({count}).",
        "reload_problems": "⚠️ Re-read with problems (the last good version stays):\n{problems}",
        "feeds_head": "🛰 Feeds ({n}):",
        "error": "Something went wrong; try again shortly.",
        "slow_down": "⏳ Too many commands at once: I skip the extra ones. Try again in a minute.",
        "btn_follow": "➕ {title}", "btn_unfollow": "✓ {title}",
        "event_muted": "🔕 Nothing more about this event until {until}.",
        "feedback_thanks": "Thanks: noted that this story is not relevant to “{title}”.",
        "feedback_admin": ("👎 Chat {chat} finds this story not relevant to “{title}” (<code>{name}</code>):\n"
                           "{story}\n\nIf more like it come, add to the watchlist's file:\n"
                           "<code>exclude: [{words}]</code>"),
        "feedback_admin_none": ("👎 Chat {chat} finds this story not relevant to “{title}” "
                                "(<code>{name}</code>):\n{story}"),
        "button_gone": "This alert is no longer kept.",
    },
}

COMMANDS = [
    ("start", "ابدأ", "start"), ("help", "الأوامر", "commands"),
    ("list", "قوائم المتابعة", "watchlists"), ("subscribe", "تابع قائمة", "follow a watchlist"),
    ("unsubscribe", "أوقف متابعة قائمة", "stop following"), ("mute", "أوقف التنبيهات مدة", "pause alerts"),
    ("unmute", "أعد التنبيهات", "resume alerts"), ("quiet", "ساعات الهدوء", "quiet hours"),
    ("related", "تغطية الحدث نفسه", "related coverage"),
    ("watch", "تابع كلمة", "follow a word"), ("unwatch", "احذف كلمة", "remove a word"),
    ("status", "الحال", "status"), ("tz", "المنطقة الزمنية", "time zone"), ("lang", "اللغة", "language"),
]
