"""Browser form uploads (POST Object) through the proxy, as one pre-auth policy.

``form`` streams the multipart body (fields, then the file), ``policy_document`` parses and checks
the signed POST policy, ``upload`` authenticates the form, spools the file and makes the upstream
PUT, and ``answers`` turns the upstream's answer into the form's success or error response.
"""
