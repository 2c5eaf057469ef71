import PurserCore

/// ULIDs: 48 bits of milliseconds then 80 random bits, in Crockford base32, so ids sort by time.
public enum ULID {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    public static func make(ms: Int64 = Timestamp.nowMs()) -> String {
        var rng = SystemRandomNumberGenerator()
        return make(ms: ms, using: &rng)
    }

    public static func make<R: RandomNumberGenerator>(ms: Int64, using rng: inout R) -> String {
        var out = [UInt8](repeating: 0, count: 26)
        var t = UInt64(max(0, ms))
        for i in stride(from: 9, through: 0, by: -1) {
            out[i] = alphabet[Int(t & 31)]
            t >>= 5
        }
        var hi = rng.next() // 80 random bits: 16 from hi, 64 from lo
        let lo = rng.next()
        var r = lo
        for i in stride(from: 25, through: 13, by: -1) { // 13 chars * 5 = 65 bits
            out[i] = alphabet[Int(r & 31)]
            r >>= 5
        }
        // 1 bit left in r; combine with hi's bits for the remaining 3 chars (15 bits).
        hi = (hi << 1) | (r & 1)
        for i in stride(from: 12, through: 10, by: -1) {
            out[i] = alphabet[Int(hi & 31)]
            hi >>= 5
        }
        return String(decoding: out, as: UTF8.self)
    }
}
