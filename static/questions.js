// Question editor: "Add a row" copies the last row of the answers table (the table just before the button), empty (the form works without it: two
// blank rows are always there).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-add-row]");
  if (!button) return;
  const table = button.previousElementSibling; // the rows' table (components/tables.html) comes right before
  const body = table && table.querySelector("tbody");
  const last = body && body.lastElementChild;
  if (!last) return;
  const row = last.cloneNode(true);
  const n = body.children.length + 1;
  row.querySelectorAll("input, select").forEach((input) => {
    if (input.tagName === "SELECT") input.selectedIndex = 0; else input.value = "";
    const label = input.getAttribute("aria-label");
    if (label) input.setAttribute("aria-label", label.replace(/\d+$/, String(n)));
  });
  body.appendChild(row);
  const first = row.querySelector("input:not([type=hidden])");
  if (first) first.focus();
});
