from ebonite_core import hookimpl

EBONITE_PLUGIN_API = 1


@hookimpl
def ebonite_metadata_repositories():
    from .jsondir import JsonDirMetadataRepository

    return [JsonDirMetadataRepository]
