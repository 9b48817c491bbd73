"""Every text a person reads: key → (English, Simplified Chinese). Read through `app.i18n`."""

from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    # -- a turn that cannot be sent ---------------------------------------------------------------
    "server.restarting": (
        "The server is restarting; send this again in a moment.",
        "服务正在重启，请稍后再发送。",
    ),
    "turn.empty": (
        "Type a question or attach an image or video first.",
        "请先输入问题，或添加图片、视频。",
    ),
    "turn.no_conversation": (
        "Open a conversation first.",
        "请先打开一个对话。",
    ),
    "turn.nothing_to_redo": (
        "There is no question to answer again here.",
        "这里没有可以重新回答的问题。",
    ),
    "model.unknown": (
        "Unknown model {model!r}. Available: {known}.",
        "未知模型 {model!r}。可用的模型：{known}。",
    ),
    "model.cloud_needs_key": (
        "{model} is a paid cloud model: it is served over this API only to clients with a key. "
        "Set WEBUI_API_KEYS on the server and send 'Authorization: Bearer <key>'.",
        "{model} 是付费云端模型，本接口只向持有密钥的客户端提供。请在服务器上设置 WEBUI_API_KEYS，"
        "并在请求中携带 'Authorization: Bearer <密钥>'。",
    ),
    "model.not_served": (
        "{model} is not being served: the self-hosted model server at {url} has not been "
        "reached yet. Start it, or set LOCAL_BASE_URL in .env.",
        "{model} 当前不可用：尚未连上位于 {url} 的本地模型服务。请启动该服务，或在 .env 中修改 "
        "LOCAL_BASE_URL。",
    ),
    "model.capabilities_unknown": (
        "{model} may not read images or videos such as {name}: its capabilities are unknown. If "
        'it can, declare it in WEBUI_MODELS_FILE (for example "images": true).',
        "{model} 可能无法读取图片或视频（{name}）：它的能力未知。如果它支持，请在 WEBUI_MODELS_FILE "
        '中声明（例如 "images": true）。',
    ),
    "model.too_many_images": (
        "{model} takes at most {limit} images per request; this message has {count} (video "
        "frames count as images). Send fewer at a time.",
        "{model} 每次最多接收 {limit} 张图片，这条消息有 {count} 张（视频抽出的画面也计入）。"
        "请分几次发送。",
    ),
    "model.unconfigured": (
        "{model} is not configured: put STEP_API_KEY=... in .env and restart.",
        "{model} 尚未配置：请在 .env 中填写 STEP_API_KEY=... 后重启。",
    ),
    "model.starting": (
        "{model} is still loading on this machine. Try again in a minute; the model list shows "
        "when it is ready.",
        "{model} 仍在本机加载中，请一分钟后再试；加载完成后模型列表会显示“就绪”。",
    ),
    "model.text_only": (
        "{model} reads text only, so it cannot look at {name}.",
        "{model} 只能读文字，无法查看 {name}。",
    ),
    "model.text_only_suggest": (
        "{model} reads text only, so it cannot look at {name}. Pick a model that can, such as "
        "{other}.",
        "{model} 只能读文字，无法查看 {name}。请换用能看图的模型，例如 {other}。",
    ),
    "model.no_video": (
        "{model} cannot watch videos such as {name}.",
        "{model} 无法观看视频（{name}）。",
    ),
    "model.no_video_suggest": (
        "{model} cannot watch videos such as {name}. Pick a model that can, such as {other}.",
        "{model} 无法观看视频（{name}）。请换用能看视频的模型，例如 {other}。",
    ),
    "notice.not_sent": ("Not sent", "未发送"),
    # -- the model service failed ------------------------------------------------------------------
    "backend.where.stepfun": ("StepFun ({host})", "阶跃星辰云端（{host}）"),
    "backend.where.local": (
        "the self-hosted model server at {host}",
        "位于 {host} 的本地模型服务",
    ),
    "backend.said": (" The service said: {text}", "服务返回：{text}"),
    "backend.rejected": (
        "The model service rejected the request (400).{said}",
        "模型服务拒绝了请求（400）。{said}",
    ),
    "backend.key_refused": (
        "The API key for {where} was not accepted (401). Check it in .env.",
        "{where}不接受所配置的 API 密钥（401），请检查 .env。",
    ),
    "backend.no_balance": (
        "The model service account has no balance left (402).",
        "模型服务账户余额不足（402）。",
    ),
    "backend.forbidden": (
        "The API key for {where} is not allowed to do this (403).{said}",
        "{where}的 API 密钥无权执行此操作（403）。{said}",
    ),
    "backend.not_found": (
        "The model service does not know this model or path (404).{said}",
        "模型服务找不到这个模型或地址（404）。{said}",
    ),
    "backend.rate_limited": (
        "The model service is rate-limiting requests (429). Wait a few seconds and retry.",
        "模型服务限制了请求频率（429），请稍等几秒再试。",
    ),
    "backend.moderation": (
        "The model service declined this content (451).",
        "内容未通过模型服务的审核（451）。",
    ),
    "backend.overloaded": (
        "The model service is overloaded (503). Retry in a moment.",
        "模型服务繁忙（503），请稍后重试。",
    ),
    "backend.server_error": (
        "The model service had an internal error ({status_code}). Retry in a moment.{said}",
        "模型服务内部出错（{status_code}），请稍后重试。{said}",
    ),
    "backend.stream_error": (
        "The model service reported an error while answering.{said}",
        "模型服务在回答过程中报告了错误。{said}",
    ),
    "backend.failed": (
        "The request failed ({status_code}).{said}",
        "请求失败（{status_code}）。{said}",
    ),
    "backend.context_too_long": (
        "This conversation is too long for the model.{said} Start a new chat, or leave out "
        "images or long text, and send again.",
        "对话内容超出了模型能处理的长度。{said}请新建对话，或减少图片和长文本后再发送。",
    ),
    "backend.file_gone": (
        "An uploaded file has expired at the model service.",
        "已上传到模型服务的文件已过期。",
    ),
    "backend.stepfun_unconfigured": (
        "StepFun is not configured: put STEP_API_KEY=... in .env.",
        "尚未配置阶跃星辰云端：请在 .env 中填写 STEP_API_KEY=...。",
    ),
    "backend.timeout": (
        "{where} did not answer in time. Retry, or try a shorter question.",
        "{where}没有及时响应。请重试，或把问题改短一些。",
    ),
    "backend.unreachable": (
        "Cannot reach {where}. Is it running?",
        "无法连接{where}，请确认它正在运行。",
    ),
    "backend.dropped": (
        "The connection to {where} broke off mid-answer. What arrived is kept; retry to get the "
        "rest.",
        "与{where}的连接在回答中途断开。已收到的内容已保留，重试可获取完整回答。",
    ),
    "backend.ended_early": (
        "The connection to {where} ended before the answer was complete. What arrived is kept; "
        "retry to get the rest.",
        "与{where}的连接在回答完成前结束。已收到的内容已保留，重试可获取完整回答。",
    ),
    "settings.invalid": (
        "These settings could not be used; please check them.",
        "这些设置无法使用，请检查后重试。",
    ),
    "settings.out_of_range": (
        "{name} must be between {low} and {high}.",
        "{name} 必须在 {low} 到 {high} 之间。",
    ),
    # -- attachments from the page ---------------------------------------------------------------
    "upload.not_yours": (
        "{name} was not uploaded from this page, so it was not attached. Attach the file again.",
        "{name} 不是从本页面上传的，未能附加。请重新添加该文件。",
    ),
    "upload.unreadable": (
        "{name} could not be read; please attach it again.",
        "无法读取 {name}，请重新添加。",
    ),
    "upload.expired": (
        "{name} is no longer on the server (uploads are kept for a day). Attach it again.",
        "{name} 已不在服务器上（上传的文件保留一天），请重新添加。",
    ),
    # -- media files ----------------------------------------------------------------------------
    "media.empty": ("{name} is empty (0 bytes).", "{name} 是空文件（0 字节）。"),
    "media.unsupported": (
        "{name} is not a file this app can read (accepted: JPEG, PNG, WebP, GIF, BMP, TIFF, HEIC "
        "images and MP4, MOV, MKV, WebM videos).",
        "无法读取 {name}。支持的格式：JPEG、PNG、WebP、GIF、BMP、TIFF、HEIC 图片，以及 MP4、MOV、"
        "MKV、WebM 视频。",
    ),
    "media.not_an_image": (
        "{name} is not an image this app can read (accepted: JPEG, PNG, WebP, GIF, BMP, TIFF, "
        "HEIC).",
        "{name} 不是可识别的图片（支持 JPEG、PNG、WebP、GIF、BMP、TIFF、HEIC）。",
    ),
    "media.too_many_pixels": (
        "{name} declares more pixels than the {limit}-megapixel limit and is not opened.",
        "{name} 的像素数超过 {limit} 百万像素的上限，未打开。",
    ),
    "media.too_many_pixels_declared": (
        "{name} declares {width}×{height} pixels, more than the {limit}-megapixel limit, and is "
        "not opened.",
        "{name} 的尺寸为 {width}×{height}，超过 {limit} 百万像素的上限，未打开。",
    ),
    "media.damaged": (
        "{name} is damaged and cannot be opened.",
        "{name} 已损坏，无法打开。",
    ),
    "media.incomplete": (
        "{name} is damaged or incomplete and cannot be read.",
        "{name} 已损坏或不完整，无法读取。",
    ),
    "media.too_large": (
        "{name} is {size:.0f} MB; the limit is {limit:.0f} MB.",
        "{name} 大小为 {size:.0f} MB，超过了 {limit:.0f} MB 的上限。",
    ),
    "media.missing": (
        "A stored attachment is missing from the data directory.",
        "数据目录中缺少一个已保存的附件。",
    ),
    "video.unreadable": (
        "{name} is not a video this app can read (accepted: MP4, MOV, MKV, WebM).",
        "无法读取视频 {name}（支持 MP4、MOV、MKV、WebM）。",
    ),
    "video.wrong_container": (
        "{name} is a {container} file; accepted videos are MP4, MOV, MKV and WebM.",
        "{name} 是 {container} 文件；支持的视频格式为 MP4、MOV、MKV 和 WebM。",
    ),
    "video.no_track": ("{name} has no video track.", "{name} 中没有视频画面。"),
    "video.undecodable": (
        "{name} is damaged: its video cannot be decoded.",
        "{name} 已损坏，视频无法解码。",
    ),
    "video.no_length": (
        "{name}: the length of this video cannot be determined.",
        "无法确定视频 {name} 的时长。",
    ),
    "video.no_frames": (
        "{name}: no frames could be read from this video.",
        "无法从视频 {name} 中读取任何画面。",
    ),
    "video.frames_damaged": (
        "{name} is damaged: its frames cannot be decoded.",
        "{name} 已损坏，画面无法解码。",
    ),
    "video.no_keyframes": (
        "{name} has no keyframes, so it cannot be split.",
        "{name} 没有关键帧，无法分段。",
    ),
    "video.keyframes_too_far": (
        "{name} cannot be split within the limits: its keyframes are too far apart.",
        "{name} 的关键帧间隔过大，无法在限制内分段。",
    ),
    "video.no_packets": (
        "{name} has no video packets to split.",
        "{name} 中没有可分段的视频数据。",
    ),
    "video.split_failed": (
        "{name} could not be split without re-encoding.",
        "{name} 无法在不重新编码的情况下分段。",
    ),
    # -- answers ----------------------------------------------------------------------------------
    "answer.thinking": ("Thinking", "思考过程"),
    "answer.stopped": ("Stopped.", "已停止。"),
    "answer.tokens": ("{inp} tokens in · {out} out", "输入 {inp} tokens · 输出 {out}"),
    "answer.tokens_not_reported": ("tokens not reported", "未报告 token 用量"),
    "answer.cut_at_limit": (
        "The answer was cut off at the token limit.",
        "回答达到了长度上限，已被截断。",
    ),
    "answer.interrupted": (
        "Interrupted: the server stopped while this answer was being written.",
        "回答中断：服务在生成时停止了。",
    ),
    # -- notes on how a turn was sent --------------------------------------------------------------
    "media.first_frame_only": (
        "{name}: only the first frame of the animation is sent.",
        "{name}：动图只发送了第一帧。",
    ),
    "video.split": (
        "{name} ({length}) is over the 5-minute / 128 MB limit for video, so it was split into "
        "{parts} parts sent in order.",
        "{name}（{length}）超过了视频 5 分钟 / 128 MB 的上限，已按顺序拆成 {parts} 段发送。",
    ),
    "video.frames": (
        "{name}: {why}; sent {count} frames sampled evenly over {length} (one every {interval} s "
        "at most).",
        "{name}：{why}，已从 {length} 的视频中均匀抽取 {count} 帧发送（最多每 {interval} 秒一帧）。",
    ),
    "video.why.model": ("{model} does not take video directly", "{model} 不能直接读取视频"),
    "video.why.too_large_inline": (
        "it is too large to send inline without the Files API",
        "文件过大，不经文件接口无法直接发送",
    ),
    "video.why.parts_too_large": (
        "the parts are too large to send inline",
        "分段后仍过大，无法直接发送",
    ),
    "context.skipped_media": (
        "{count} earlier attachment(s) were not sent: {model} cannot see them.",
        "之前的 {count} 个附件未发送：{model} 无法读取它们。",
    ),
    "context.unanswered_skipped": (
        "{count} question(s) just before this one got no answer and were not sent again.",
        "此前有 {count} 个问题没有得到回答，未随本次问题一起发送。",
    ),
    "context.dropped_images": (
        "{count} of the oldest images were left out: {model} takes at most {limit} images per "
        "request.",
        "最早的 {count} 张图片未发送：{model} 每次最多接收 {limit} 张图片。",
    ),
    # -- export and import ------------------------------------------------------------------------
    "export.none_open": ("Open a conversation first.", "请先打开一个对话。"),
    "export.json": ("JSON (complete, can be imported)", "JSON（完整，可再导入）"),
    "export.zip": ("Markdown with media (zip)", "Markdown 与媒体文件（zip）"),
    "import.too_large": ("The file is too large to import.", "文件过大，无法导入。"),
    "import.not_json": (
        "This is not a JSON conversation export.",
        "这不是导出的 JSON 对话文件。",
    ),
    "import.not_ours": (
        "This JSON file is not a conversation exported by this app.",
        "这个 JSON 文件不是本应用导出的对话。",
    ),
    "import.version": (
        "Unsupported export version {version}.",
        "不支持的导出版本 {version}。",
    ),
    "import.bad_attachment": (
        "An attachment in the export is not usable: {why}",
        "导出文件中有附件无法使用：{why}",
    ),
    "import.damaged": ("The export is damaged or incomplete.", "导出文件已损坏或不完整。"),
    # -- media in API requests -----------------------------------------------------------------
    "media.stepfile_elsewhere": (
        "{where}: stepfile:// URLs only work with StepFun models.",
        "{where}：stepfile:// 地址只能用于阶跃星辰的模型。",
    ),
    "media.bad_url": (
        "{where}: the url must be http(s), a data: URL or stepfile://.",
        "{where}：地址必须是 http(s)、data: 或 stepfile://。",
    ),
    "media.remote_refused": ("{where}: {why}", "{where}：{why}"),
    "media.not_image": (
        "{where}: this image_url holds a video; use video_url.",
        "{where}：image_url 中是视频，请改用 video_url。",
    ),
    "media.not_video": (
        "{where}: this video_url holds an image; use image_url.",
        "{where}：video_url 中是图片，请改用 image_url。",
    ),
    # -- limits -----------------------------------------------------------------------------------
    "text.too_long": (
        "The message is {count:,} characters long; the limit is {limit:,}. Shorten it or split it "
        "into several messages.",
        "消息长度为 {count:,} 个字符，超过了 {limit:,} 的上限。请删减内容或分成几条发送。",
    ),
    # -- the page: sidebar ------------------------------------------------------------------------
    "ui.new_chat": ("New chat", "新对话"),
    "ui.new_chat_hint": ("New chat (Ctrl+Shift+O)", "新对话（Ctrl+Shift+O）"),
    "ui.search": ("Search chats", "搜索对话"),
    "ui.no_matches": ("No conversations match “{query}”.", "没有与“{query}”匹配的对话。"),
    "ui.no_conversations": (
        "No conversations yet. Your chats will be listed here.",
        "还没有对话，之后的聊天会列在这里。",
    ),
    "ui.today": ("Today", "今天"),
    "ui.yesterday": ("Yesterday", "昨天"),
    "ui.previous_7": ("Previous 7 days", "过去 7 天"),
    "ui.earlier": ("Earlier", "更早"),
    "ui.rename": ("Rename", "重命名"),
    "ui.delete": ("Delete", "删除"),
    "ui.delete_confirm": ("Delete this chat?", "删除这个对话？"),
    "ui.cancel": ("Cancel", "取消"),
    "ui.untitled": ("New conversation", "新对话"),
    "ui.export": ("Export this chat", "导出当前对话"),
    "ui.import": ("Import a chat (JSON)", "导入对话（JSON）"),
    "ui.backends": ("Model services", "模型服务"),
    "ui.menu": ("Chats", "对话列表"),
    "template.switched": (
        "Switched to {model}, which can do this task.",
        "已切换到能完成这项任务的模型 {model}。",
    ),
    "template.no_model": (
        "None of the available models can do this task; see Model services.",
        "目前没有能完成这项任务的可用模型，请查看“模型服务”。",
    ),
    "page.no_cookie": (
        "Your browser did not send its session cookie; please reload the page.",
        "浏览器没有发送会话 Cookie，请刷新页面。",
    ),
    # -- the page: model and settings -------------------------------------------------------------
    "ui.model": ("Model", "模型"),
    "ui.effort": ("Reasoning effort", "推理强度"),
    "ui.effort.low": ("Low", "低"),
    "ui.effort.medium": ("Medium", "中"),
    "ui.effort.high": ("High", "高"),
    "ui.detail": ("Image detail", "图片细节"),
    "ui.detail.low": ("Standard", "标准"),
    "ui.detail.high": ("High", "高"),
    "ui.detail.info": (
        "High reads the small print on receipts and screenshots; Standard is faster and cheaper.",
        "“高”能看清小票、截图上的小字；“标准”更快、更省。",
    ),
    "badge.images": ("Images ≤{count}", "图片 ≤{count}"),
    "badge.video": ("Video", "视频"),
    "badge.video_frames": ("Video as frames", "视频（抽帧）"),
    "badge.text_only": ("Text only", "仅文字"),
    "badge.unknown": ("Capabilities unknown", "能力未知"),
    "status.ready": ("Ready", "就绪"),
    "status.starting": ("Starting", "启动中"),
    "status.unreachable": ("Unreachable", "无法连接"),
    "status.unconfigured": ("Not configured", "未配置"),
    "status.checking": ("Checking", "检测中"),
    "ui.settings": ("Settings", "设置"),
    "ui.system_prompt": ("System prompt", "系统提示词"),
    "ui.system_prompt.placeholder": (
        "Instructions the model follows throughout this chat",
        "模型在本对话中始终遵循的指令",
    ),
    "ui.temperature": ("Temperature", "温度"),
    "ui.top_p": ("Top-p", "核采样（Top-p）"),
    "ui.max_tokens": ("Longest answer (tokens)", "最长回答（token 数）"),
    "ui.default_value": ("Model default: {value}", "模型默认：{value}"),
    "ui.server_default": ("Model default: set by the server", "模型默认：由服务端决定"),
    "ui.reset": ("Reset to defaults", "恢复默认"),
    "ui.settings_saved": ("Settings saved for this chat.", "已保存本对话的设置。"),
    "ui.settings_pending": (
        "Saved with this chat when you send its first question.",
        "发送第一个问题时将随本对话一起保存。",
    ),
    # -- the page: chat -------------------------------------------------------------------------
    "ui.placeholder.media": (
        "Ask about your images and videos (drop files anywhere)",
        "针对图片或视频提问（可将文件拖到页面任意位置）",
    ),
    "ui.placeholder.text": ("Ask a question", "输入你的问题"),
    "ui.composer": ("Your message", "你的消息"),
    "ui.empty.title": ("What would you like to look at?", "想让模型看看什么？"),
    "ui.empty.hint": (
        "Drop images or videos anywhere on the page and ask, or start from a task below.",
        "把图片或视频拖到页面任意位置再提问，或者从下面的任务开始。",
    ),
    "ui.tasks": ("Tasks", "常用任务"),
    "ui.copy_all": ("Copy conversation", "复制整个对话"),
    "ui.role.user": ("You", "我"),
    "ui.role.assistant": ("Assistant", "助手"),
    "details.effort": ("{level} effort", "推理强度：{level}"),
    "details.first_token": ("first token {time}", "首字 {time}"),
    "details.total": ("{time} in all", "共 {time}"),
    "details.reasoning": ("{count} reasoning", "推理 {count}"),
    "details.cached": ("{count} cached", "缓存 {count}"),
    "time.ms": ("{n} ms", "{n} 毫秒"),
    "time.s": ("{n} s", "{n} 秒"),
    # -- batch (page): the Batch tab -------------------------------------------------------------
    "batch.ui.tab_chat": ("Chat", "对话"),
    "common.upload": ("Add files", "添加文件"),  # the File component's button once it holds files
    "batch.ui.tab": ("Batch", "批量处理"),
    "batch.ui.new": ("New batch", "新建批量任务"),
    "batch.ui.files": ("Images, videos or a zip", "图片、视频或 zip 压缩包"),
    "batch.ui.template": ("Task", "任务"),
    "batch.ui.prompt": ("Question for every file", "对每个文件的提问"),
    "batch.ui.start": ("Start", "开始"),
    "batch.ui.retry": ("Retry failed", "重试失败项"),
    "batch.ui.cancel": ("Cancel job", "取消任务"),
    "batch.ui.jobs": ("Your batch jobs", "我的批量任务"),
    "batch.template.none": ("My own question", "自定义问题"),
    "batch.prompt.placeholder": (
        "For example: Describe {filename} in one sentence.",
        "例如：用一句话描述 {filename}。",
    ),
    "batch.prompt.info": (
        "Every file is asked this question on its own; {filename} becomes the file's name.",
        "每个文件单独提问一次；{filename} 会替换为该文件的文件名。",
    ),
    "batch.ui.intro": (
        "Drop many images or videos (or a zip of them), choose a task or write a question, and "
        "press Start. Each file gets its own answer in a table you can download as CSV or JSONL. "
        "A job keeps running when you close this page.",
        "拖入多张图片或多个视频（也可以是它们的 zip 压缩包），选择任务或写下问题，然后点击“开始”。"
        "每个文件单独得到一个回答，结果汇总成表格，可下载为 CSV 或 JSONL。关闭页面后任务仍会继续运行。",
    ),
    "batch.no_jobs": ("No batch jobs yet.", "还没有批量任务。"),
    "batch.not_found": ("This job is not there any more.", "该任务已不存在。"),
    "batch.download_csv": ("Download CSV", "下载 CSV"),
    "batch.download_jsonl": ("Download JSONL", "下载 JSONL"),
    "batch.counts": (
        "{done} done · {failed} failed · {remaining} remaining",
        "完成 {done} · 失败 {failed} · 剩余 {remaining}",
    ),
    "batch.of_total": ("{finished} of {total} files", "已处理 {finished}/{total} 个文件"),
    "batch.eta": ("about {time} left", "预计还需 {time}"),
    "batch.eta_unknown": ("estimating the time left…", "正在估算剩余时间…"),
    "batch.paused": (
        "The model service asked us to slow down: continuing in {time}",
        "模型服务要求放慢速度：{time}后继续",
    ),
    "batch.took": ("took {time}", "用时 {time}"),
    "batch.time.min": ("{m} min {s} s", "{m} 分 {s} 秒"),
    "batch.time.h": ("{h} h {m} min", "{h} 小时 {m} 分"),
    "batch.col.preview": ("Preview", "预览"),
    "batch.col.time": ("Time", "耗时"),
    "batch.col.tokens": ("Tokens in / out", "输入 / 输出 tokens"),
    "batch.mark.not_json": ("Not valid JSON", "不是有效的 JSON"),
    "batch.video": ("Video", "视频"),
    "batch.more_rows": (
        "Showing the first {shown} of {total} files here; the downloads hold them all.",
        "此处显示前 {shown} 个文件（共 {total} 个），下载的文件包含全部结果。",
    ),
    # -- the page: model services panel ---------------------------------------------------------
    "banner.stepfun_unconfigured": (
        "**StepFun cloud**: not configured. Put `STEP_API_KEY=...` in `.env` and restart (Step "
        "Plan subscribers also set `STEP_BASE_URL=https://api.stepfun.com/step_plan/v1`).",
        "**阶跃星辰云端**：未配置。请在 `.env` 中填写 `STEP_API_KEY=...` 后重启（Step Plan 订阅"
        "用户还需设置 `STEP_BASE_URL=https://api.stepfun.com/step_plan/v1`）。",
    ),
    "banner.stepfun": ("**StepFun cloud**: {status}{detail}", "**阶跃星辰云端**：{status}{detail}"),
    "banner.local_ready": ("**Self-hosted** (`{url}`): ready", "**本地模型服务**（`{url}`）：就绪"),
    "banner.local_starting": (
        "**Self-hosted** (`{url}`): the model server is starting; this can take a few minutes.",
        "**本地模型服务**（`{url}`）：正在启动，可能需要几分钟。",
    ),
    "banner.local_down": (
        "**Self-hosted** (`{url}`): {status}. Start vLLM or SGLang there, or set `LOCAL_BASE_URL` "
        "in `.env`.",
        "**本地模型服务**（`{url}`）：{status}。请在该地址启动 vLLM 或 SGLang，或修改 `.env` 中的 "
        "`LOCAL_BASE_URL`。",
    ),
    # -- Gradio's words it does not translate itself (page.js puts these in) --------------------
    "gradio.lost": (
        "Connection to the server was lost. Attempting reconnection...",
        "与服务器的连接已断开，正在重新连接…",
    ),
    "gradio.error": ("Error", "出错了"),
    "gradio.warning": ("Warning", "提示"),
    "gradio.info": ("Info", "提示"),
    "gradio.stop": ("Stop", "停止"),
    "gradio.submit": ("Submit", "发送"),
    "gradio.upload": ("Upload a file", "添加文件"),
    "gradio.remove_file": ("Remove file", "移除文件"),
    "gradio.toggle_sidebar": ("Toggle Sidebar", "显示或隐藏对话列表"),
    "gradio.scroll_down": ("Scroll down", "回到底部"),
    "gradio.fullscreen": ("Fullscreen", "全屏"),
    "gradio.close": ("Close", "关闭"),
    # -- Gradio's own strings, where Gradio lets them be translated -----------------------------
    "chatbot.copy_message": ("Copy", "复制"),
    "chatbot.copied_message": ("Copied", "已复制"),
    "chatbot.retry": ("Regenerate", "重新生成"),
    "chatbot.undo": ("Undo", "撤销"),
    "chatbot.edit": ("Edit", "编辑"),
    "chatbot.submit": ("Send", "发送"),
    "chatbot.cancel": ("Cancel", "取消"),
    "common.loading": ("Loading…", "加载中…"),
    # -- batch ----------------------------------------------------------------------------------
    "batch.empty": (
        "Add at least one image, video or zip of them first.",
        "请先添加至少一张图片、一个视频，或包含它们的 zip 文件。",
    ),
    "batch.too_many": (
        "{count} files is more than one batch takes ({limit}); split them into smaller batches.",
        "共 {count} 个文件，超过了单个批量任务的上限（{limit}），请分成几批提交。",
    ),
    "batch.zip_unreadable": (
        "{name} is not a zip file that can be opened.",
        "无法打开 zip 文件 {name}。",
    ),
    "batch.not_json": (
        "The answer holds no valid JSON; see the answer text.",
        "回答中没有有效的 JSON，请查看回答原文。",
    ),
    "batch.request_invalid": (
        "This line's request cannot be sent: {why}",
        "这一行的请求无法发送：{why}",
    ),
    "batch.job.queued": ("Queued", "排队中"),
    "batch.job.running": ("Running", "进行中"),
    "batch.job.cancelling": ("Cancelling", "正在取消"),
    "batch.job.cancelled": ("Cancelled", "已取消"),
    "batch.job.done": ("Done", "已完成"),
    "batch.row.pending": ("Waiting", "等待中"),
    "batch.row.running": ("Running", "进行中"),
    "batch.row.done": ("Done", "成功"),
    "batch.row.failed": ("Failed", "失败"),
    "batch.row.cancelled": ("Cancelled", "已取消"),
    "batch.col.file": ("File", "文件"),
    "batch.col.status": ("Status", "状态"),
    "batch.col.answer": ("Answer", "回答"),
    "batch.col.error": ("Error", "错误"),
    "batch.col.seconds": ("Seconds", "用时（秒）"),
    "batch.col.tokens_in": ("Tokens in", "输入 token"),
    "batch.col.tokens_out": ("Tokens out", "输出 token"),
}
