// Calendar arithmetic without the C library's time zone and locale state: Howard Hinnant's
// days-from-civil algorithms, exact for the proleptic Gregorian calendar.
#include "core/timestamp.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "core/json.hpp"

namespace chatledger::core {

namespace {

constexpr int64_t us_per_s = 1000000;
constexpr int64_t us_per_day = 86400 * us_per_s;
// 0001-01-01 and 10000-01-01 in microseconds since 1970.
constexpr int64_t min_us = -62135596800LL * us_per_s;
constexpr int64_t max_us = 253402300800LL * us_per_s;

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
}

unsigned days_in_month(int64_t y, unsigned m) {
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return (m == 2 && leap) ? 29 : days[m - 1];
}

/// Reads exactly n digits at text[pos]; advances pos.
bool digits(std::string_view t, size_t& pos, int n, int& out) {
    if (pos + static_cast<size_t>(n) > t.size())
        return false;
    out = 0;
    for (int i = 0; i < n; ++i) {
        const char c = t[pos + static_cast<size_t>(i)];
        if (c < '0' || c > '9')
            return false;
        out = out * 10 + (c - '0');
    }
    pos += static_cast<size_t>(n);
    return true;
}

std::optional<int64_t> in_range(int64_t us) {
    if (us < min_us || us >= max_us)
        return std::nullopt;
    return us;
}

std::optional<int64_t> parse_iso(std::string_view t) {
    size_t pos = 0;
    int y, mo, d;
    if (!digits(t, pos, 4, y) || pos >= t.size() || t[pos++] != '-' || !digits(t, pos, 2, mo) ||
        pos >= t.size() || t[pos++] != '-' || !digits(t, pos, 2, d))
        return std::nullopt;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || static_cast<unsigned>(d) > days_in_month(y, mo))
        return std::nullopt;
    int64_t us =
        days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * us_per_day;
    if (pos == t.size())
        return in_range(us);
    if (t[pos] != 'T' && t[pos] != 't' && t[pos] != ' ')
        return std::nullopt;
    ++pos;
    int h, mi, s = 0;
    if (!digits(t, pos, 2, h) || pos >= t.size() || t[pos++] != ':' || !digits(t, pos, 2, mi))
        return std::nullopt;
    int64_t frac = 0;
    if (pos < t.size() && t[pos] == ':') {
        ++pos;
        if (!digits(t, pos, 2, s))
            return std::nullopt;
        if (pos < t.size() && (t[pos] == '.' || t[pos] == ',')) {
            ++pos;
            const size_t start = pos;
            int64_t scale = 100000;
            while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
                frac += (t[pos] - '0') * scale;
                scale /= 10;
                ++pos;
            }
            if (pos == start)
                return std::nullopt;
        }
    }
    if (h > 23 || mi > 59 || s > 60)
        return std::nullopt;
    if (s == 60) {
        s = 59;
        frac = us_per_s - 1;
    }
    us += ((h * 60LL + mi) * 60 + s) * us_per_s + frac;
    if (pos == t.size())
        return in_range(us);
    if (t[pos] == 'Z' || t[pos] == 'z')
        return pos + 1 == t.size() ? in_range(us) : std::nullopt;
    if (t[pos] != '+' && t[pos] != '-')
        return std::nullopt;
    const int sign = t[pos++] == '+' ? 1 : -1;
    int oh, om = 0;
    if (!digits(t, pos, 2, oh))
        return std::nullopt;
    if (pos < t.size() && t[pos] == ':')
        ++pos;
    if (pos < t.size() && !digits(t, pos, 2, om))
        return std::nullopt;
    if (pos != t.size() || oh > 23 || om > 59)
        return std::nullopt;
    us -= sign * (oh * 60LL + om) * 60 * us_per_s;
    return in_range(us);
}

std::optional<int64_t> parse_epoch(std::string_view t) {
    double v = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || p != t.data() + t.size() || !std::isfinite(v))
        return std::nullopt;
    const double seconds = std::fabs(v) >= 1e11 ? v / 1000 : v;
    if (seconds < min_us / 1e6 || seconds >= max_us / 1e6)
        return std::nullopt;
    return static_cast<int64_t>(std::llround(seconds * 1e6));
}

}  // namespace

std::optional<int64_t> parse_timestamp(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    if (text.empty())
        return std::nullopt;
    if (text.size() >= 10 && text[4] == '-')
        return parse_iso(text);
    return parse_epoch(text);
}

std::optional<int64_t> parse_timestamp_json(std::string_view json_value) {
    if (json_value.empty())
        return std::nullopt;
    if (json_value.front() == '"') {
        try {
            return parse_timestamp(decode_string(json_value));
        } catch (const std::invalid_argument&) {
            return std::nullopt;
        }
    }
    if (json_value.front() == '-' || (json_value.front() >= '0' && json_value.front() <= '9'))
        return parse_epoch(json_value);
    return std::nullopt;
}

namespace {

/// A UTC instant broken into calendar fields.
struct civil_time {
    int64_t y = 0;
    unsigned mo = 0, d = 0;
    int h = 0, mi = 0, s = 0;
    int64_t frac = 0;  ///< microseconds
};

civil_time split_us(int64_t us) {
    civil_time t;
    int64_t days = us / us_per_day;
    int64_t rem = us % us_per_day;
    if (rem < 0) {
        rem += us_per_day;
        --days;
    }
    civil_from_days(days, t.y, t.mo, t.d);
    t.h = static_cast<int>(rem / (3600 * us_per_s));
    t.mi = static_cast<int>(rem / (60 * us_per_s) % 60);
    t.s = static_cast<int>(rem / us_per_s % 60);
    t.frac = rem % us_per_s;
    return t;
}

/// `format` takes year, month, day, hour, minute, second and the fraction, in this order.
std::string format_civil(const char* format, int64_t us, int64_t frac_divisor) {
    const civil_time t = split_us(us);
    char buf[48];
    std::snprintf(buf, sizeof buf, format, static_cast<long long>(t.y), t.mo, t.d, t.h, t.mi, t.s,
                  static_cast<long long>(t.frac / frac_divisor));
    return buf;
}

}  // namespace

std::string format_iso_ms(int64_t us) {
    return format_civil("%04lld-%02u-%02uT%02d:%02d:%02d.%03lldZ", us, 1000);
}

std::string format_timestamptz(int64_t us) {
    const civil_time t = split_us(us);
    if (t.y < 0 || t.y > 9999)
        return format_civil("%04lld-%02u-%02u %02d:%02d:%02d.%06lld+00", us, 1);
    // Every migrated message has one: digits by hand, as snprintf cost a tenth of `run`'s
    // client time. Same text as the format above.
    std::string out = "0000-00-00 00:00:00.000000+00";
    const auto put = [&out](size_t end, int64_t v, int width) {
        for (int i = 1; i <= width; ++i, v /= 10) out[end - i] = static_cast<char>('0' + v % 10);
    };
    put(4, t.y, 4);
    put(7, t.mo, 2);
    put(10, t.d, 2);
    put(13, t.h, 2);
    put(16, t.mi, 2);
    put(19, t.s, 2);
    put(26, t.frac, 6);
    return out;
}

}  // namespace chatledger::core
