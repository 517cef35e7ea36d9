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
});
