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

  // Keep the scroll position of the page's message frames (and of their boxes) across reloads.
  function saveScroll() {
    var frames = document.querySelectorAll("iframe.message-frame");
    var positions = {};
    for (var i = 0; i < frames.length; i++) {
      positions["box:" + frames[i].id] = frames[i].parentNode.scrollLeft;
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
        if (!frame.parentNode.parentNode.classList.contains("fit")) {
          frame.parentNode.scrollLeft = positions["box:" + frame.id] || 0;
        }
        var y = positions[frame.id];
        if (!y) { return; }
        frame.addEventListener("load", function () {
          try { frame.contentWindow.scrollTo(0, y); } catch (e) { /* ignore */ }
        });
      })(frames[i]);
    }
  }

  // A frame wider than the space for it (the 700 px desktop frame on a phone) is shrunk to fit,
  // keeping its height on screen; "Actual size" shows it 1:1, scrolling sideways in its own box.
  var FIT_KEY = "newsletter-preview-fit";
  function fitMode() {
    try { return sessionStorage.getItem(FIT_KEY) || "fit"; } catch (e) { return "fit"; }
  }
  function fitFrames() {
    var mode = fitMode();
    var figures = document.querySelectorAll(".frames .device");
    for (var i = 0; i < figures.length; i++) {
      var figure = figures[i];
      var box = figure.querySelector(".frame-box");
      var frame = figure.querySelector("iframe.message-frame");
      var info = figure.querySelector(".fit-info");
      var button = figure.querySelector(".fit-toggle");
      if (!box || !frame || !info || !button) { continue; }
      frame.style.transform = "";
      frame.style.height = "";
      box.style.height = "";
      figure.classList.remove("fit");
      var room = figure.parentNode.clientWidth;
      var natural = frame.offsetWidth;
      if (!room || natural <= room) {
        info.textContent = "";
        button.hidden = true;
        continue;
      }
      button.hidden = false;
      if (mode === "actual") {
        info.textContent = "\u00b7 actual size: scroll sideways";
        button.textContent = "Fit to screen";
        continue;
      }
      var scale = room / natural;
      var shown = frame.offsetHeight;
      frame.style.height = (parseFloat(getComputedStyle(frame).height) / scale) + "px";
      frame.style.transform = "scale(" + scale + ")";
      box.style.height = shown + "px";
      figure.classList.add("fit");
      box.scrollLeft = 0;
      info.textContent = "\u00b7 shown at " + Math.round(scale * 100) + "%";
      button.textContent = "Actual size";
    }
  }
  function toggleFit() {
    try { sessionStorage.setItem(FIT_KEY, fitMode() === "fit" ? "actual" : "fit"); } catch (e) { /* ignore */ }
    fitFrames();
  }
  var toggles = document.querySelectorAll(".fit-toggle");
  for (var t = 0; t < toggles.length; t++) { toggles[t].addEventListener("click", toggleFit); }
  fitFrames();
  window.addEventListener("resize", fitFrames);
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
