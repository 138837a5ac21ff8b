// newsletter preview: reload when the server has rebuilt (server-sent events, no polling).
(function () {
  "use strict";
  var page = document.body.getAttribute("data-generation");
  var badge = document.getElementById("build-status");
  var KEY = "newsletter-preview-scroll:" + location.pathname;

  function show(text, kind) {
    if (badge) {
      badge.textContent = text;
      badge.className = "status " + kind;
    }
  }

  // Keep the scroll position of the page's message frames across reloads.
  function saveScroll() {
    var frames = document.querySelectorAll("iframe.message-frame");
    var positions = {};
    for (var i = 0; i < frames.length; i++) {
      try {
        positions[frames[i].id] = frames[i].contentWindow.scrollY;
      } catch (e) { /* not loaded yet */ }
    }
    try { sessionStorage.setItem(KEY, JSON.stringify(positions)); } catch (e) { /* private mode */ }
  }
  function restoreScroll() {
    var positions = {};
    try { positions = JSON.parse(sessionStorage.getItem(KEY) || "{}"); } catch (e) { return; }
    var frames = document.querySelectorAll("iframe.message-frame");
    for (var i = 0; i < frames.length; i++) {
      (function (frame) {
        var y = positions[frame.id];
        if (!y) { return; }
        frame.addEventListener("load", function () {
          try { frame.contentWindow.scrollTo(0, y); } catch (e) { /* ignore */ }
        });
      })(frames[i]);
    }
  }
  function reload() {
    saveScroll();
    location.reload();
  }

  restoreScroll();
  if (!window.EventSource) { return; }
  var source = new EventSource("/events");
  source.addEventListener("hello", function (event) {
    if (event.data !== page) { reload(); }
  });
  source.addEventListener("building", function () { show("rebuilding\u2026", "building"); });
  source.addEventListener("reload", function (event) {
    if (event.data !== page) { reload(); }
  });
  source.addEventListener("error", function () {
    if (source.readyState !== EventSource.OPEN) { show("not connected: is the preview still running?", "failed"); }
  });
  window.addEventListener("pagehide", function () { source.close(); });
})();
