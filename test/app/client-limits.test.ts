import { describe, expect, it } from "vitest";
import { api, apiJson, csvForm } from "../helpers";

const from = (ip: string) => ({ headers: { "cf-connecting-ip": ip } });

describe("costly anonymous actions are limited per client address", () => {
  it("registration: 10 an hour from one address, then 429 with Retry-After; another address is unaffected", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await apiJson("/api/accounts/register/", { username: `reg${i}`, password: "correct-horse-battery", password2: "correct-horse-battery" }, from("198.51.100.77"))).status);
    expect(statuses.slice(0, 10)).toEqual(new Array(10).fill(201));
    expect(statuses.slice(10)).toEqual([429, 429]);
    expect((await apiJson("/api/accounts/register/", { username: "reg-elsewhere", password: "correct-horse-battery", password2: "correct-horse-battery" }, from("198.51.100.78"))).status).toBe(201);
    // Past the limit an existing username is not told apart from a new one.
    expect((await apiJson("/api/accounts/register/", { username: "reg0", password: "correct-horse-battery", password2: "correct-horse-battery" }, from("198.51.100.77"))).status).toBe(429);
  });

  it("login attempts from one IPv6 /64 count together, however the host rotates its address", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await apiJson("/api/accounts/login/", { username: "victim6", password: "wrong" }, from(`2001:db8:77:1::${(i + 1).toString(16)}`))).status);
    expect(statuses.slice(0, 5)).toEqual(new Array(5).fill(401));
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    expect((await apiJson("/api/accounts/login/", { username: "victim6", password: "wrong" }, from("2001:db8:77:2::1"))).status).toBe(401);
  });

  it("cuts of anonymous csv_cutter uploads: 120 an hour from one address", async () => {
    const { file_path } = await (await api("/api/list_cutter/csv_cutter/", { method: "POST", body: csvForm("a.csv", "a,b\n1,2\n"), ...from("198.51.100.81") })).json<{ file_path: string }>();
    const cut = async (ip: string) => {
      const res = await api("/api/list_cutter/export_csv/", { method: "POST", body: JSON.stringify({ columns: ["a"], file_path }), ...from(ip) });
      await res.arrayBuffer();
      return res;
    };
    let last = 0;
    for (let i = 0; i < 121; i++) last = (await cut("198.51.100.82")).status;
    expect(last).toBe(429);
    expect((await cut("198.51.100.83")).status).toBe(200);
  });

  it("anonymous csv_cutter uploads: 60 an hour from one address", async () => {
    let last = 0;
    for (let i = 0; i < 61; i++) last = (await api("/api/list_cutter/csv_cutter/", { method: "POST", body: csvForm("a.csv", "a,b\n1,2\n"), ...from("198.51.100.79") })).status;
    expect(last).toBe(429);
    expect((await api("/api/list_cutter/csv_cutter/", { method: "POST", body: csvForm("a.csv", "a,b\n1,2\n"), ...from("198.51.100.80") })).status).toBe(200);
  });
});
