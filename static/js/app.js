// Small progressive touches. Every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Filter and per-page selects apply themselves.
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.requestSubmit());
  });

  // "Select all" checkbox for bulk actions.
  document.querySelectorAll("input[data-select-all]").forEach((master) => {
    master.hidden = false;
    const boxes = () => master.form.querySelectorAll(`input[type=checkbox][name="${master.dataset.selectAll}"]`);
    master.addEventListener("change", () => boxes().forEach((box) => { box.checked = master.checked; }));
  });

  // Copy buttons (the token shown once).
  document.querySelectorAll("button[data-copy]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const field = document.querySelector(button.dataset.copy);
      field.select();
      try {
        await navigator.clipboard.writeText(field.value);
        button.textContent = "Copied";
      } catch {
        document.execCommand("copy");
        button.textContent = "Copied";
      }
    });
  });

  initKeyboard();
});

// Keyboard first. Without this file: the list's search has focus on arrival (autofocus),
// each row is one Tab stop whose Enter opens it, and a skip link leads to the content.
// With it: `/` focuses the number search from any page; in the list, ↓ and ↑ move between
// rows (↓ from the search goes to the first) and Space ticks the focused row's box.
function initKeyboard() {
  const search = document.querySelector("input[data-search-shortcut]");
  const rowLinks = () => Array.from(document.querySelectorAll("a[data-row-link]"));
  document.querySelectorAll(".keys-help").forEach((help) => { help.hidden = false; });

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;

    if (event.key === "/" && search && !isTextEntry(target)) {
      event.preventDefault();
      search.focus();
      search.select();
      return;
    }

    const links = rowLinks();
    if (!links.length) return;
    const index = links.indexOf(target);
    if (event.key === "ArrowDown" && (index >= 0 || target === search)) {
      event.preventDefault();
      links[Math.min(index + 1, links.length - 1)].focus();
    } else if (event.key === "ArrowUp" && index >= 0) {
      event.preventDefault();
      if (index === 0 && search) search.focus();
      else links[Math.max(index - 1, 0)].focus();
    } else if (event.key === " " && index >= 0) {
      const box = target.closest("tr").querySelector("input[type=checkbox]");
      if (box) {
        event.preventDefault();
        box.click(); // a click, so that listeners see the change
      }
    }
  });
}

// Whether a key pressed in `element` is text being typed (so `/` is a slash, not a shortcut).
function isTextEntry(element) {
  if (element.isContentEditable || element.tagName === "TEXTAREA") return true;
  if (element.tagName !== "INPUT") return false;
  return !["checkbox", "radio", "button", "submit", "reset", "file", "image", "range", "color"].includes(element.type);
}
