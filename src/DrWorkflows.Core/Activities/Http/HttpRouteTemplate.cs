namespace DrWorkflows.Core.Activities.Http;

/// <summary>
/// An <c>Elsa.HttpEndpoint</c> path such as <c>orders/{id}</c>, matched against request paths (below the
/// <c>/workflows</c> prefix) as Elsa matches it with ASP.NET's route templates: literal segments compare without
/// regard to case, <c>{name}</c> takes one segment, <c>{name?}</c> (last) may be missing, <c>{*name}</c> (last) takes
/// the rest; a constraint (<c>{id:int}</c>) or default (<c>{page=1}</c>) is accepted and, as in Elsa's matcher, the
/// constraint is not checked. Written here because the core library has no ASP.NET reference.
/// </summary>
public sealed class HttpRouteTemplate
{
    private readonly Segment[] segments;

    private HttpRouteTemplate(string text, Segment[] segments)
    {
        Text = text;
        this.segments = segments;
    }

    /// <summary>The template without its surrounding slashes, as written (e.g. <c>orders/{id}</c>).</summary>
    public string Text { get; }

    /// <summary>
    /// The same for every template that matches the same paths: literals in lower case, parameters without their
    /// names (<c>orders/{id}</c> and <c>Orders/{orderId}</c> are one route). Two published workflows may not share it.
    /// </summary>
    public string Canonical => string.Join('/', segments.Select(s => s.Kind switch
    {
        SegmentKind.Literal => s.Text.ToLowerInvariant(),
        SegmentKind.Optional => "{?}",
        SegmentKind.CatchAll => "{*}",
        _ => "{}",
    }));

    /// <summary>How many literal segments: the more, the more specific (<c>orders/new</c> wins over <c>orders/{id}</c>).</summary>
    public int LiteralCount => segments.Count(s => s.Kind == SegmentKind.Literal);

    /// <summary>Parses a path; throws <see cref="FormatException"/> with the reason when it is not a template.</summary>
    public static HttpRouteTemplate Parse(string? path)
    {
        var text = (path ?? string.Empty).Trim().Trim('/');
        if (text.Length == 0)
            throw new FormatException("the path is empty: give one such as 'orders/{id}'.");
        if (text.Contains('?', StringComparison.Ordinal) && !text.Contains('{', StringComparison.Ordinal))
            throw new FormatException($"'{text}' has a query string: give the path only.");
        var parts = text.Split('/');
        var parsed = new Segment[parts.Length];
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            if (part.Length == 0)
                throw new FormatException($"'{text}' has an empty segment ('//').");
            if (part[0] != '{')
            {
                if (part.IndexOfAny(['{', '}', '?', '#', ' ']) >= 0)
                    throw new FormatException($"'{text}': the segment '{part}' mixes text and a parameter or holds '?', '#' or a space; a parameter is a whole segment such as '{{id}}'.");
                parsed[i] = new Segment(SegmentKind.Literal, part);
                continue;
            }

            if (part[^1] != '}' || part.Length < 3)
                throw new FormatException($"'{text}': the segment '{part}' is not a parameter such as '{{id}}'.");
            var inner = part[1..^1];
            var kind = SegmentKind.Parameter;
            if (inner.StartsWith('*'))
            {
                kind = SegmentKind.CatchAll;
                inner = inner.TrimStart('*');
            }

            var cut = inner.IndexOfAny([':', '=']);
            var name = cut >= 0 ? inner[..cut] : inner;
            if (name.EndsWith('?'))
            {
                kind = SegmentKind.Optional;
                name = name[..^1];
            }
            else if (inner.EndsWith('?'))
                kind = SegmentKind.Optional;

            if (name.Length == 0 || !name.All(c => char.IsLetterOrDigit(c) || c == '_'))
                throw new FormatException($"'{text}': the parameter '{part}' needs a name of letters, digits or '_'.");
            if (!names.Add(name))
                throw new FormatException($"'{text}': the parameter '{name}' appears twice.");
            if (kind is SegmentKind.Optional or SegmentKind.CatchAll && i != parts.Length - 1)
                throw new FormatException($"'{text}': only the last segment may be optional or take the rest of the path ('{part}').");
            parsed[i] = new Segment(kind, name);
        }

        return new HttpRouteTemplate(text, parsed);
    }

    /// <summary>The route values when <paramref name="path"/> (without the prefix) matches, else null.</summary>
    public Dictionary<string, string>? Match(string path)
    {
        var parts = path.Trim('/').Split('/', StringSplitOptions.None);
        if (parts is [""])
            parts = [];
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            if (segment.Kind == SegmentKind.CatchAll)
            {
                if (i < parts.Length)
                    values[segment.Text] = Uri.UnescapeDataString(string.Join('/', parts[i..]));
                return values;
            }

            if (i >= parts.Length)
                return segment.Kind == SegmentKind.Optional ? values : null;
            var part = parts[i];
            if (part.Length == 0)
                return null;
            if (segment.Kind == SegmentKind.Literal)
            {
                if (!string.Equals(Uri.UnescapeDataString(part), segment.Text, StringComparison.OrdinalIgnoreCase))
                    return null;
            }
            else
            {
                values[segment.Text] = Uri.UnescapeDataString(part);
            }
        }

        return parts.Length == segments.Length ? values : null;
    }

    public override string ToString() => Text;

    private enum SegmentKind
    {
        Literal,
        Parameter,
        Optional,
        CatchAll,
    }

    private readonly record struct Segment(SegmentKind Kind, string Text);
}
