/**
 * The part of a client address that one client controls: the whole IPv4 address, or the /64
 * network of an IPv6 one (a single host usually holds a whole /64, so counting per IPv6 address
 * would let it rotate through billions). Used wherever a limit or a weight is per client.
 */
export function clientAddressKey(ip: string | null): string {
  if (!ip) return "";
  if (!ip.includes(":")) return ip;
  // An IPv4 client seen over IPv6 (::ffff:192.0.2.1) is that IPv4 client.
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  const [head = "", tail = ""] = ip.toLowerCase().split("::", 2);
  const left = head ? head.split(":") : [];
  const right = ip.includes("::") && tail ? tail.split(":") : [];
  const groups = ip.includes("::") ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}
