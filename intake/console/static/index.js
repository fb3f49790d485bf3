// Sign-in: user name and password; the server sets the session cookie (HttpOnly) and answers
// with the role, which decides the first page.
"use strict";
(() => {
  const { h, api, say, ROLE_HOME } = HL;
  const app = document.getElementById("app");
  const user = h("input", { id: "user", name: "user", autocomplete: "username", required: true });
  const pass = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const form = h("form", { class: "card login", id: "login" },
    h("label", { for: "user" }, "用户名"), user, h("label", { for: "password" }, "密码"), pass,
    h("div", { class: "row" }, h("button", { class: "primary", type: "submit", id: "signin" }, "登录")),
    h("p", { class: "muted" }, h("a", { href: "public.html" }, "市民查询案件进度（无需登录）")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const me = await api("POST", "/api/v1/session", { user: user.value, password: pass.value }, { noRedirect: true });
      const next = new URLSearchParams(location.search).get("next");
      location.href = next && /^[a-z]+\.html(\?[\w=&%.-]*)?$/.test(next) ? next : (ROLE_HOME[me.role] || "public.html");
    } catch (e) {
      say(e.status === 401 ? "用户名或密码错误" : "登录失败：" + e.message, false);
    }
  });
  app.appendChild(form);
  user.focus();
})();
