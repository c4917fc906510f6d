// Arbiter console: keyboard shortcuts. No framework, no build step; the pages work without it.
//   j / k   next / previous item (a row in a list; the next or previous review on an item)
//   Enter   open the selected row
//   c o e   confirm / overturn / escalate: focus that form's reason field (Enter submits)
//   ?       help;  Esc leaves a field or closes the help
"use strict";

(function () {
  function typing(target) {
    if (!target || !target.tagName) return false;
    const tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function rows() {
    return Array.from(document.querySelectorAll("[data-list] [data-item]"));
  }

  function select(list, index) {
    list.forEach(function (row) { row.classList.remove("selected"); });
    const row = list[index];
    if (!row) return;
    row.classList.add("selected");
    row.scrollIntoView({ block: "nearest" });
    const link = row.querySelector("a");
    if (link) link.focus({ preventScroll: true });
  }

  function move(step) {
    const list = rows();
    if (list.length) {
      const current = list.findIndex(function (row) { return row.classList.contains("selected"); });
      const next = current < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(Math.max(current + step, 0), list.length - 1);
      select(list, next);
      return true;
    }
    const link = document.querySelector(step > 0 ? 'link[rel="next"]' : 'link[rel="prev"]');
    if (link) {
      window.location.assign(link.getAttribute("href"));
      return true;
    }
    return false;
  }

  function arm(key) {
    const form = document.querySelector('form[data-key="' + key + '"]');
    if (!form) return false;
    document.querySelectorAll("form.act").forEach(function (f) { f.classList.remove("armed"); });
    form.classList.add("armed");
    const choice = form.querySelector("select[required]");
    const field = choice && !choice.value ? choice : form.querySelector('input[name="reason"]');
    if (field) {
      field.focus();
      form.scrollIntoView({ block: "nearest" });
    }
    return true;
  }

  function help() {
    const dialog = document.getElementById("help");
    if (!dialog) return false;
    if (dialog.open) dialog.close();
    else dialog.showModal();
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") {
        event.target.blur();
        document.querySelectorAll("form.act").forEach(function (f) { f.classList.remove("armed"); });
      }
      return;
    }
    let handled = false;
    switch (event.key) {
      case "j": handled = move(1); break;
      case "k": handled = move(-1); break;
      case "c": case "o": case "e": handled = arm(event.key); break;
      case "?": handled = help(); break;
      case "Enter": {
        const row = document.querySelector("[data-list] [data-item].selected");
        if (row && row.dataset.href && document.activeElement === document.body) {
          window.location.assign(row.dataset.href);
          handled = true;
        }
        break;
      }
      default: break;
    }
    if (handled) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    const opener = event.target.closest && event.target.closest("[data-help]");
    if (opener) {
      help();
      return;
    }
    const row = event.target.closest && event.target.closest("[data-list] [data-item]");
    if (row && row.dataset.href && !event.target.closest("a, button, input, select")) {
      window.location.assign(row.dataset.href);
    }
  });
})();
