import { describe, expect, it } from "vitest";
import { clientAddressKey } from "../../src/lib/client-address";

describe("clientAddressKey", () => {
  it("keeps an IPv4 address whole and folds an IPv6 address to its /64, however it is written", () => {
    expect(clientAddressKey("203.0.113.7")).toBe("203.0.113.7");
    expect(clientAddressKey(null)).toBe("");
    const same = ["2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:0DB8:0001:0002:0:0:0:9", "2001:db8:1:2:a::"];
    for (const ip of same) expect(clientAddressKey(ip), ip).toBe("2001:db8:1:2::/64");
    expect(clientAddressKey("2001:db8:1:3::1")).not.toBe(clientAddressKey("2001:db8:1:2::1"));
    expect(clientAddressKey("::1")).toBe("0:0:0:0::/64");
    expect(clientAddressKey("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(clientAddressKey("::ffff:192.0.2.1")).not.toBe(clientAddressKey("::ffff:198.51.100.2"));
    expect(clientAddressKey("fe80::1:2:3:4")).toBe("fe80:0:0:0::/64");
  });
});
