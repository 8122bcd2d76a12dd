// Who is asking: bearer tokens (a service account's dies with its account) and impersonation headers,
// each impersonated user, group, uid and extra checked against RBAC as kube-apiserver does.
import type http from "node:http";
import { serviceAccountUser, type Tokens } from "./auth.js";
import { errors } from "./errors.js";
import { authorize, type Attributes, type UserInfo } from "./rbac.js";
import { metaOf, type Store } from "./store.js";
import { header, headerList } from "./http-io.js";

export function authenticate(req: http.IncomingMessage, store: Store, tokens: Tokens): UserInfo {
  const h = req.headers.authorization;
  if (h === undefined || !h.startsWith("Bearer ")) throw errors.unauthorized();
  const entry = tokens.lookup(h.slice(7).trim());
  if (entry === undefined) throw errors.unauthorized();
  if (entry.serviceAccount !== undefined) {
    // A service-account token dies with its account (a new account of the same name has a new uid).
    const sa = store.get("/serviceaccounts", entry.serviceAccount.namespace, entry.serviceAccount.name);
    if (sa === undefined || metaOf(sa.obj)["uid"] !== entry.serviceAccount.uid) throw errors.unauthorized();
  }
  return entry.user;
}

export function impersonate(req: http.IncomingMessage, user: UserInfo, store: Store): UserInfo {
  const asUser = header(req, "impersonate-user");
  const asGroups = headerList(req, "impersonate-group");
  const asUid = header(req, "impersonate-uid");
  const extras = Object.keys(req.headers).filter((h) => h.startsWith("impersonate-extra-"));
  if (asUser === undefined) {
    if (asGroups.length > 0 || asUid !== undefined || extras.length > 0) {
      throw errors.badRequest(
        "requested impersonation of groups or extra fields without impersonating a user",
      );
    }
    return user;
  }
  const check = (a: Attributes, what: { group: string; resource: string; name: string }): void => {
    if (!authorize(store, user, a).allowed)
      throw errors.forbidden(user.name, "impersonate", what, a.namespace);
  };
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(asUser);
  if (sa !== null) {
    const [, ns = "", name = ""] = sa;
    check(
      {
        verb: "impersonate",
        resourceRequest: true,
        apiGroup: "",
        resource: "serviceaccounts",
        namespace: ns,
        name,
      },
      { group: "", resource: "serviceaccounts", name },
    );
  } else {
    check(
      { verb: "impersonate", resourceRequest: true, apiGroup: "", resource: "users", name: asUser },
      { group: "", resource: "users", name: asUser },
    );
  }
  for (const g of asGroups) {
    check(
      { verb: "impersonate", resourceRequest: true, apiGroup: "", resource: "groups", name: g },
      { group: "", resource: "groups", name: g },
    );
  }
  if (asUid !== undefined) {
    check(
      {
        verb: "impersonate",
        resourceRequest: true,
        apiGroup: "authentication.k8s.io",
        resource: "uids",
        name: asUid,
      },
      { group: "authentication.k8s.io", resource: "uids", name: asUid },
    );
  }
  const extra: Record<string, string[]> = {};
  for (const h of extras) {
    const key = decodeURIComponent(h.slice("impersonate-extra-".length));
    const values = headerList(req, h);
    for (const v of values) {
      check(
        {
          verb: "impersonate",
          resourceRequest: true,
          apiGroup: "authentication.k8s.io",
          resource: "userextras",
          subresource: key,
          name: v,
        },
        { group: "authentication.k8s.io", resource: `userextras/${key}`, name: v },
      );
    }
    extra[key] = values;
  }
  let groups = asGroups;
  if (sa !== null && groups.length === 0) groups = serviceAccountUser(sa[1] ?? "", sa[2] ?? "").groups;
  else if (!groups.includes("system:authenticated") && asUser !== "system:anonymous")
    groups = [...groups, "system:authenticated"];
  const out: UserInfo = { name: asUser, groups };
  if (asUid !== undefined) out.uid = asUid;
  if (extras.length > 0) out.extra = extra;
  return out;
}
