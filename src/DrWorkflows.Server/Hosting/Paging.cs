using System.Globalization;

namespace DrWorkflows.Server.Hosting;

/// <summary>Bounded pages and id lists: no request reads or answers an unbounded amount, and no page number overflows.</summary>
public static class Paging
{
    /// <summary>Most ids one request may name (bulk actions, many-by-id).</summary>
    public const int MaxIds = 1000;

    /// <summary>(skip, take) of a 0-based page: the size is at most <paramref name="maxSize"/>, the skip is computed without overflow.</summary>
    public static (int Skip, int Take) Page(int? page, int? pageSize, int defaultSize, int maxSize)
    {
        var size = Math.Clamp(pageSize is > 0 ? pageSize.Value : defaultSize, 1, maxSize);
        var skip = (long)Math.Max(page ?? 0, 0) * size;
        return ((int)Math.Min(skip, int.MaxValue), size);
    }

    /// <summary>An explicit skip/take pair (take at most <paramref name="maxTake"/>, skip not negative).</summary>
    public static (int Skip, int Take) Window(int? skip, int? take, int defaultTake, int maxTake) =>
        (Math.Max(skip ?? 0, 0), Math.Clamp(take ?? defaultTake, 1, maxTake));

    /// <summary>The distinct ids given (nulls dropped); more than <see cref="MaxIds"/> is refused naming the field.</summary>
    public static List<string> Ids(IEnumerable<string?>? ids, string field)
    {
        var list = (ids ?? []).OfType<string>().Where(id => id.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        if (list.Count > MaxIds)
            throw new RequestFieldException(field, string.Create(CultureInfo.InvariantCulture, $"names {list.Count} ids; the limit is {MaxIds} per request."));
        return list;
    }
}

/// <summary>Reads a request's form (urlencoded or multipart); a form that cannot be read is the caller's 400, never a 500.</summary>
public static class RequestForms
{
    public static async Task<IFormCollection> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await request.ReadFormAsync(cancellationToken);
        }
        catch (Exception e) when (e is InvalidDataException || (e is IOException and not BadHttpRequestException && !cancellationToken.IsCancellationRequested))
        {
            throw new BadHttpRequestException("The form could not be read: " + e.Message, StatusCodes.Status400BadRequest, e);
        }
    }
}
