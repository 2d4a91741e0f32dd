using Gateway.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gateway.Admin;

/// <summary>
/// The operator console: <c>/console/</c> on the admin port, a page (clients/web/console, compiled in) that polls the
/// admin API once a second. The page and its scripts hold no data and are served without the admin token; every
/// <c>/v1/*</c> call it makes carries the token the operator typed in (<c>Authorization: Bearer</c>), kept in the
/// tab's <c>sessionStorage</c>.
/// </summary>
internal static class OperatorConsole
{
    public static void Map(RouteGroupBuilder admin)
    {
        StaticFiles files = StaticFiles.Folder("console");
        admin.MapGet("/console/{name?}", (string? name, HttpRequest request) =>
        {
            if (!request.Path.Value!.StartsWith("/console/", StringComparison.Ordinal))
            {
                // "/console" → "/console/": the page's relative script URLs resolve inside the folder.
                return Results.Redirect("/console/", permanent: true);
            }

            StaticFile? file = files.Find(name ?? "");
            if (file is null)
            {
                return Results.NotFound();
            }

            request.HttpContext.Response.Headers.CacheControl = file.CacheControl(System.Text.Encoding.ASCII.GetBytes(request.QueryString.Value?.TrimStart('?') ?? ""));
            request.HttpContext.Response.Headers.XContentTypeOptions = "nosniff";
            return Results.Bytes(file.Body, file.ContentType);
        });
    }
}
