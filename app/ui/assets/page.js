/* The page's own behaviour, run once when it loads (mount_gradio_app's `js`).
 * It relies on these parts of Gradio's markup, pinned by tests/unit/test_gradio_adapter.py:
 *   window.gradio_config.app_id, the route gradio_api/app_id, .toast-body(.error|.warning),
 *   .toast-title, .toast-text, #composer input[data-testid="file-upload"],
 *   #composer .thumbnails .loader, #composer button[data-testid="submit-button"],
 *   #chatbot .image-container img, #sidebar, .toggle-button.
 * STRINGS is filled in from the string table when the page is built (app/ui/assets/__init__.py).
 */
() => {
  const STRINGS = __STRINGS__;
  const zh = (navigator.language || "").toLowerCase().startsWith("zh");
  const words = STRINGS[zh ? "zh-CN" : "en"];

  // -- Gradio's hard-coded English, in the page's language; problems announced as alerts -------
  const translate = () => {
    for (const toast of document.querySelectorAll(".toast-body.error, .toast-body.warning")) {
      if (toast.getAttribute("role") !== "alert") toast.setAttribute("role", "alert");
    }
    if (!zh) return;
    for (const node of document.querySelectorAll(".toast-text, .toast-title, .toast-body *")) {
      const text = node.childNodes.length === 1 && node.firstChild.nodeType === 3 ? node.textContent.trim() : null;
      if (text && words.gradio[text]) node.textContent = words.gradio[text];
    }
    for (const button of document.querySelectorAll("button[aria-label]")) {
      const label = button.getAttribute("aria-label");
      if (words.gradio[label]) {
        if (label === "Stop") button.dataset.vlm = "stop";
        if (label === "Copy conversation") button.dataset.vlm = "copy-all";
        button.setAttribute("aria-label", words.gradio[label]);
        if (button.title) button.title = words.gradio[label];
      }
    }
  };
  new MutationObserver(translate).observe(document.body, { childList: true, subtree: true });

  // -- a page whose server restarted reloads (its session is gone); the draft comes back ---------
  const knownApp = () => window.gradio_config && window.gradio_config.app_id;
  const checkServer = async () => {
    try {
      const response = await fetch("gradio_api/app_id", { cache: "no-store" });
      if (!response.ok) return;
      const { app_id } = await response.json();
      if (knownApp() && app_id !== knownApp()) window.location.reload();
    } catch (e) {}
  };
  setInterval(checkServer, 3000);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) checkServer(); });

  // -- the draft is kept in this browser as it is typed, also while the server is unreachable (then
  // Gradio runs no events, not even the composer's own save); its files are those of the last
  // composer value Gradio saved. Whose draft it is comes from the page's load (READ_DRAFT_JS).
  const DRAFT_KEY = __DRAFT_KEY__;
  document.addEventListener("input", (event) => {
    const tag = window.vlmDraftTag;
    if (!tag || !event.target.closest("#composer textarea")) return;
    try {
      const saved = JSON.parse(localStorage.getItem(DRAFT_KEY) || "null");
      const files = saved && saved.tag === tag && Array.isArray(saved.files) ? saved.files : [];
      localStorage.setItem(DRAFT_KEY, JSON.stringify({ tag, text: event.target.value, files }));
    } catch (e) {}
  });

  // -- the sidebar: open on a wide screen; a drawer on a phone ------------------------------------
  const openSidebarOnWideScreens = () => {
    const sidebar = document.querySelector("#sidebar");
    if (!sidebar) return setTimeout(openSidebarOnWideScreens, 100);
    if (window.innerWidth > 768 && !sidebar.classList.contains("open")) {
      sidebar.querySelector(".toggle-button")?.click();
    }
  };
  openSidebarOnWideScreens();
  // On a phone the sidebar is a drawer over the chat: it closes once a new chat is started
  // (a conversation picked in the list closes it too, see CONVERSATIONS_JS in ui/layout.py).
  document.addEventListener("click", (event) => {
    if (window.innerWidth > 768 || !event.target.closest("#new-chat")) return;
    const sidebar = document.querySelector("#sidebar");
    if (sidebar?.classList.contains("open")) sidebar.querySelector(".toggle-button")?.click();
  });

  // -- images open large, with zoom --------------------------------------------------------------
  const lightbox = () => {
    let box = document.getElementById("image-viewer");
    if (box) return box;
    box = document.createElement("div");
    box.id = "image-viewer";
    box.setAttribute("role", "dialog");
    box.innerHTML = `<button type="button" class="viewer-close" aria-label="${words.close}">✕</button><img alt="">`;
    box.addEventListener("click", (event) => {
      if (event.target.tagName === "IMG") box.classList.toggle("zoomed");
      else box.classList.remove("open", "zoomed");
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && box.classList.contains("open")) {
        event.stopPropagation();
        box.classList.remove("open", "zoomed");
      }
    }, true);
    document.body.appendChild(box);
    return box;
  };
  document.addEventListener("click", (event) => {
    const image = event.target.closest("#chatbot .image-container img, #chatbot img.chat-image");
    if (!image) return;
    event.preventDefault();
    event.stopPropagation();
    const box = lightbox();
    box.querySelector("img").src = image.currentSrc || image.src;
    box.querySelector("img").alt = image.alt || "";
    box.classList.add("open");
  }, true);

  // -- files dropped anywhere are attached to the composer ---------------------------------------
  const hasFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes("Files");
  let dragDepth = 0;
  document.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    dragDepth += 1;
    document.body.classList.add("dragging-files");
  });
  document.addEventListener("dragleave", (event) => {
    if (!hasFiles(event)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) document.body.classList.remove("dragging-files");
  });
  document.addEventListener("dragover", (event) => {
    if (hasFiles(event)) event.preventDefault();
  });
  document.addEventListener("drop", (event) => {
    dragDepth = 0;
    document.body.classList.remove("dragging-files");
    if (!hasFiles(event) || event.target.closest("#composer, #batch-files")) return;  // they handle their own
    event.preventDefault();
    // On the Batch tab, its drop zone takes them; else the chat's composer.
    const batch = document.querySelector("#batch-files");
    const input = batch && batch.offsetParent !== null
      ? batch.querySelector('input[type="file"]')
      : document.querySelector('#composer input[data-testid="file-upload"]');
    if (!input) return;
    const files = new DataTransfer();
    for (const file of event.dataTransfer.files) files.items.add(file);
    input.files = files.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });

  // -- sending: once per upload, focus kept, Esc stops, Ctrl+Shift+O starts a new chat ----------
  let waitingForUpload = false;
  const uploading = () => !!document.querySelector("#composer .thumbnails .loader");
  const guard = (event) => {
    if (!uploading()) { waitingForUpload = false; return; }
    if (waitingForUpload) { event.preventDefault(); event.stopImmediatePropagation(); return; }
    waitingForUpload = true;  // Gradio sends it once the upload is done
  };
  const refocus = () => setTimeout(() => document.querySelector("#composer textarea")?.focus(), 60);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && event.target.closest("#composer textarea")) {
      guard(event);
      refocus();
    }
    if (event.key === "Escape") {
      const stop = document.querySelector('#composer button[data-vlm="stop"], #composer button[aria-label="Stop"]');
      if (stop) { event.preventDefault(); stop.click(); }
    }
    if ((event.ctrlKey || event.metaKey) && event.shiftKey && event.key.toLowerCase() === "o") {
      event.preventDefault();
      document.querySelector("#new-chat")?.click();
      refocus();
    }
  }, true);
  document.addEventListener("click", (event) => {
    if (event.target.closest('#composer button[data-testid="submit-button"]')) { guard(event); refocus(); }
  }, true);

  // -- "Copy conversation" gives a clean transcript: questions and answers as Markdown, without
  //    thinking, notes or the details line (each row's aria-label holds its raw Markdown) ------
  document.addEventListener("click", (event) => {
    const button = event.target.closest(
      '#chatbot .top-panel button[data-vlm="copy-all"], #chatbot .top-panel button[aria-label="Copy conversation"]'
    );
    if (!button) return;
    event.preventDefault();
    event.stopPropagation();
    const parts = [];
    for (const row of document.querySelectorAll("#chatbot .message-row")) {
      const user = row.querySelector('[data-testid="user"]');
      const node = user || row.querySelector('[data-testid="bot"]');
      if (!node || row.querySelector(".thought-group, .turn-notes, .turn-end, .typing")) continue;
      if (user && node.querySelector("img, video")) continue;
      const raw = (node.getAttribute("aria-label") || "").replace(/^(user|bot)'s message: /, "").trim();
      if (raw) parts.push(`${user ? words.user : words.assistant}:\n${raw}`);
    }
    navigator.clipboard?.writeText(parts.join("\n\n"));
  }, true);
}
